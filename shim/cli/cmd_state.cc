#include <cstdio>

#include "common/oci/state.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddStateCommand(CLI::App& app, CliContext& context) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("state", "print the container's state as JSON");
  AddIdArgument(*command, *id);
  command->callback([&context, id] {
    context.action = [&context, id] {
      Result<oci::State> state = context.runtime().State(*id);
      if (!state.ok()) return Fail(state.status());
      std::printf("%s\n", oci::StateToJson(*state).c_str());
      return 0;
    };
  });
}

}  // namespace sandbox::cli
