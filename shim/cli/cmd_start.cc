#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddStartCommand(CLI::App& app, CliContext& context) {
  AddIdVerb(app, context, "start", "run the user program of a created container",
            [](shim::Runtime& runtime, const std::string& id) { return runtime.Start(id); });
}

}  // namespace sandbox::cli
