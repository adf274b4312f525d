#include <cstdio>

#include "common/oci/validate.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {

// Our own verb: check a bundle without creating anything.
void AddValidateCommand(CLI::App& app, CliContext& context) {
  auto bundle = std::make_shared<std::string>(".");
  CLI::App* command = app.add_subcommand("validate", "check a bundle's config.json; print OK or every error");
  command->add_option("-b,--bundle", *bundle, "bundle directory")->capture_default_str();
  command->callback([&context, bundle] {
    context.action = [bundle] {
      Result<oci::Spec> spec = shim::LoadBundleSpec(*bundle);
      if (!spec.ok()) {
        std::printf("%s\n", spec.status().message().c_str());
        return 1;
      }
      for (const std::string& note : oci::UnenforcedFieldNotes(*spec)) std::printf("note: %s\n", note.c_str());
      std::printf("OK\n");
      return 0;
    };
  });
}

}  // namespace sandbox::cli
