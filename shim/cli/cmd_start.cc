#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddStartCommand(CLI::App& app, CliContext& context) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("start", "run the user program of a created container");
  AddIdArgument(*command, *id);
  command->callback([&context, id] {
    context.action = [&context, id] {
      Status status = context.runtime().Start(*id);
      return status.ok() ? 0 : Fail(status);
    };
  });
}

}  // namespace sandbox::cli
