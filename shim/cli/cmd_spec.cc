#include <unistd.h>

#include <cstdio>

#include "common/base/file_util.h"
#include "common/oci/default_spec.h"
#include "common/oci/spec_json.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddSpecCommand(CLI::App& app, CliContext& context) {
  auto bundle = std::make_shared<std::string>(".");
  auto rootless = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("spec", "write a template config.json into the bundle");
  command->add_option("-b,--bundle", *bundle, "bundle directory")->capture_default_str();
  command->add_flag("--rootless", *rootless, "a config for a rootless container (user namespace)");
  command->callback([&context, bundle, rootless] {
    context.action = [bundle, rootless] {
      std::string path = *bundle + "/config.json";
      if (PathExists(path)) return Fail(AlreadyExists(path + " exists; remove it first"));
      oci::Spec spec = oci::DefaultSpec({.rootless = *rootless, .host_uid = ::getuid(), .host_gid = ::getgid()});
      Status written = WriteFileAtomic(path, oci::SpecToJson(spec) + "\n", 0644);
      return written.ok() ? 0 : Fail(written);
    };
  });
}

}  // namespace sandbox::cli
