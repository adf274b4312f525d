#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddRunCommand(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<shim::CreateOptions>();
  auto detach = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("run", "create and start a container, wait for it, return its exit code");
  AddIdArgument(*command, options->id);
  AddCreateFlags(*command, *options);
  command->add_flag("-d,--detach", *detach, "return once the container has started");
  command->callback([&context, options, detach] {
    context.action = [&context, options, detach] {
      Result<int> code = context.runtime().Run(*options, *detach);
      return code.ok() ? *code : Fail(code.status());
    };
  });
}

}  // namespace sandbox::cli
