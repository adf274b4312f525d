#include <cstdio>

#include "common/oci/features.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddFeaturesCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand("features", "print the runtime-spec features document (JSON)");
  command->callback([&context] {
    context.action = [] {
      std::printf("%s\n", oci::FeaturesJson({.runtime_version = SANDBOX_RT_VERSION}).c_str());
      return 0;
    };
  });
}

}  // namespace sandbox::cli
