#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddCreateCommand(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<shim::CreateOptions>();
  CLI::App* command = app.add_subcommand("create", "create a container (its init waits for `start`)");
  AddIdArgument(*command, options->id);
  AddCreateFlags(*command, *options);
  command->callback([&context, options] {
    context.action = [&context, options] {
      Status status = context.runtime().Create(*options);
      return status.ok() ? 0 : Fail(status);
    };
  });
}

}  // namespace sandbox::cli
