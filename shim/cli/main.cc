// sandbox-rt: a runc-compatible OCI runtime that runs each container in its
// own KVM microVM. This file only wires the global flags and the verbs.
#include <spdlog/spdlog.h>

#include "common/log/log.h"
#include "common/oci/version.h"
#include "shim/cli/cli_context.h"
#include "shim/microvm/monitor.h"

int main(int argc, char** argv) {
  using namespace sandbox::cli;
  // The monitor, exec'd only where it could not rename itself after create's
  // fork (shim/microvm/monitor_spawn.h).
  if (argc == 3 && std::string(argv[1]) == sandbox::shim::kMonitorCommand) return sandbox::shim::RunMonitor(argv[2]);
  CliContext context;
  CLI::App app{"sandbox-rt: OCI containers in KVM microVMs (runc-compatible CLI)", "sandbox-rt"};
  app.set_version_flag("-v,--version",
                       std::string("sandbox-rt version ") + SANDBOX_RT_VERSION + "\nspec: " +
                           std::string(sandbox::oci::kOciVersion));
  app.require_subcommand(1);
  app.fallthrough();
  app.allow_extras(false);
  GlobalOptions& global = context.global;
  app.add_option("--root", global.root, "directory for container state")->capture_default_str();
  app.add_option("--log", global.log, "also write messages to this file");
  app.add_option("--log-format", global.log_format, "text or json")->capture_default_str();
  app.add_flag("--debug", global.debug, "log debug messages");
  app.add_flag("--systemd-cgroup", global.systemd_cgroup,
               "accepted for runc compatibility (cgroupsPath in slice:prefix:name form)");
  app.add_option("--rootless", global.rootless, "accepted for runc compatibility: true, false or auto")
      ->check(CLI::IsMember({"true", "false", "auto"}));

  AddCheckCommand(app, context);
  AddCreateCommand(app, context);
  AddDeleteCommand(app, context);
  AddEventsCommand(app, context);
  AddExecCommand(app, context);
  AddFeaturesCommand(app, context);
  AddImageCommand(app, context);
  AddKillCommand(app, context);
  AddListCommand(app, context);
  AddPauseResumeCommands(app, context);
  AddPsCommand(app, context);
  AddRunCommand(app, context);
  AddSpecCommand(app, context);
  AddStartCommand(app, context);
  AddStateCommand(app, context);
  AddUpdateCommand(app, context);
  AddValidateCommand(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Usage errors exit 1 like runc's; --help and --version exit 0.
    return app.exit(error) == 0 ? 0 : 1;
  }
  sandbox::Result<sandbox::LogFormat> format = sandbox::ParseLogFormat(global.log_format);
  if (!format.ok()) {
    std::fprintf(stderr, "sandbox-rt: %s\n", format.status().message().c_str());
    return 1;
  }
  sandbox::Status logging =
      sandbox::InitLogging({.file = global.log, .format = *format, .debug = global.debug, .also_stderr = true});
  if (!logging.ok()) {
    std::fprintf(stderr, "sandbox-rt: %s\n", logging.message().c_str());
    return 1;
  }
  return context.action ? context.action() : 1;
}
