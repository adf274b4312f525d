#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddDeleteCommand(CLI::App& app, CliContext& context) {
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("delete", "delete a container and every host resource it held");
  AddIdArgument(*command, *id);
  command->add_flag("-f,--force", *force, "kill a running container first; succeed when it does not exist");
  command->callback([&context, id, force] {
    context.action = [&context, id, force] {
      Status status = context.runtime().Delete(*id, *force);
      return status.ok() ? 0 : Fail(status);
    };
  });
}

}  // namespace sandbox::cli
