// Shared state of one sandbox-rt invocation: runc's global flags, the chosen
// verb's action, and helpers every verb uses. One file per verb registers its
// subcommand with Add<Verb>Command.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/base/status.h"
#include "common/image/unpack.h"
#include "shim/runtime/runtime.h"

namespace sandbox::cli {

struct GlobalOptions {
  std::string root = "/run/sandbox-rt";
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;  // accepted for runc compatibility; the guest has no systemd
  std::string rootless = "auto";
};

class CliContext {
 public:
  GlobalOptions global;
  // Set by the subcommand that parsed; returns the process exit code.
  std::function<int()> action;

  // The lifecycle library over --root with the microVM backend (its runtime
  // config is read here; a bad one fails the verbs that need the backend).
  shim::Runtime& runtime();

 private:
  std::unique_ptr<shim::StateStore> store_;
  std::unique_ptr<shim::Sandbox> sandbox_;
  std::unique_ptr<shim::Runtime> runtime_;
};

// `image unpack`'s arguments, shared with `run --image`.
struct UnpackArgs {
  std::string reference;  // <layout>[:<tag>|@<digest>]
  std::string bundle;
  std::string platform;
  std::string rootfs_image;
  std::string cache_dir;
};
Result<image::UnpackResult> UnpackImageInto(const UnpackArgs& args);
// $SANDBOX_RT_CACHE_DIR or /var/cache/sandbox-rt/images.
std::string DefaultImageCacheDir();

// Logs the error (stderr and --log) and returns exit code 1.
int Fail(const Status& status);

// The runc flags shared by create and run.
void AddCreateFlags(CLI::App& command, shim::CreateOptions& options);

// Adds the required positional <container-id>.
void AddIdArgument(CLI::App& command, std::string& id);

// A verb whose only argument is the container id and whose work is one
// Runtime call (start, pause, resume).
void AddIdVerb(CLI::App& app, CliContext& context, const char* name, const char* description,
               std::function<Status(shim::Runtime&, const std::string&)> run);

std::string NowRfc3339();

// This binary's path (the runtime config is looked up beside it).
std::string SelfBinary();

void AddCheckCommand(CLI::App& app, CliContext& context);
void AddCreateCommand(CLI::App& app, CliContext& context);
void AddDeleteCommand(CLI::App& app, CliContext& context);
void AddEventsCommand(CLI::App& app, CliContext& context);
void AddExecCommand(CLI::App& app, CliContext& context);
void AddFeaturesCommand(CLI::App& app, CliContext& context);
void AddImageCommand(CLI::App& app, CliContext& context);
void AddKillCommand(CLI::App& app, CliContext& context);
void AddListCommand(CLI::App& app, CliContext& context);
void AddPauseResumeCommands(CLI::App& app, CliContext& context);
void AddPsCommand(CLI::App& app, CliContext& context);
void AddRunCommand(CLI::App& app, CliContext& context);
void AddSpecCommand(CLI::App& app, CliContext& context);
void AddStartCommand(CLI::App& app, CliContext& context);
void AddStateCommand(CLI::App& app, CliContext& context);
void AddUpdateCommand(CLI::App& app, CliContext& context);
void AddValidateCommand(CLI::App& app, CliContext& context);

}  // namespace sandbox::cli
