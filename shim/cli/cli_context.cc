#include "shim/cli/cli_context.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "shim/microvm/microvm_sandbox.h"

namespace sandbox::cli {
namespace {

std::string OwnerName() {
  uid_t uid = ::getuid();
  struct passwd entry;
  struct passwd* result = nullptr;
  char buffer[1024];
  if (::getpwuid_r(uid, &entry, buffer, sizeof(buffer), &result) == 0 && result != nullptr) {
    return result->pw_name;
  }
  return std::to_string(uid);
}

}  // namespace

std::string SelfBinary() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "/proc/self/exe" : self.string();
}

shim::Runtime& CliContext::runtime() {
  if (!runtime_) {
    store_ = std::make_unique<shim::StateStore>(global.root);
    const std::string self = SelfBinary();
    Result<shim::MicroVmConfig> config =
        shim::LoadMicroVmConfig(shim::DefaultMicroVmConfigSources(std::filesystem::path(self).parent_path().string()));
    if (config.ok()) sandbox_ = std::make_unique<shim::MicroVmSandbox>(std::move(config).value());
    runtime_ = std::make_unique<shim::Runtime>(
        shim::RuntimeContext{.store = store_.get(),
                             .sandbox = sandbox_.get(),
                             .sandbox_unavailable = config.ok() ? "" : config.status().message(),
                             .now = NowRfc3339,
                             .owner = OwnerName()});
  }
  return *runtime_;
}

int Fail(const Status& status) {
  spdlog::error("{}", status.message());
  return 1;
}

void AddCreateFlags(CLI::App& command, shim::CreateOptions& options) {
  command.add_option("-b,--bundle", options.bundle, "path to the bundle directory")->capture_default_str();
  command.add_option("--pid-file", options.pid_file, "write the container's host pid to this file");
  command.add_option("--console-socket", options.console_socket,
                     "AF_UNIX socket that receives the pty master when process.terminal is true");
  command.add_flag("--no-pivot", options.no_pivot, "use MS_MOVE + chroot instead of pivot_root in the guest");
  command.add_flag("--no-new-keyring", options.no_new_keyring, "do not create a new session keyring");
  command.add_option("--preserve-fds", options.preserve_fds, "pass N extra fds (from 3) to the container")
      ->check(CLI::NonNegativeNumber);
}

void AddIdArgument(CLI::App& command, std::string& id) {
  command.add_option("container-id", id, "the container's id")->required();
}

void AddIdVerb(CLI::App& app, CliContext& context, const char* name, const char* description,
               std::function<Status(shim::Runtime&, const std::string&)> run) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand(name, description);
  AddIdArgument(*command, *id);
  command->callback([&context, id, run] {
    context.action = [&context, id, run] {
      Status status = run(context.runtime(), *id);
      return status.ok() ? 0 : Fail(status);
    };
  });
}

std::string NowRfc3339() {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  struct tm utc;
  ::gmtime_r(&now.tv_sec, &utc);
  char seconds[32];
  std::strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &utc);
  char text[64];
  std::snprintf(text, sizeof(text), "%s.%09ldZ", seconds, now.tv_nsec);
  return text;
}

}  // namespace sandbox::cli
