#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "shim/cli/cli_context.h"
#include "shim/runtime/host_check.h"

namespace sandbox::cli {
namespace {

std::string SelfDirectory() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "" : self.parent_path().string();
}

std::string Env(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

// Our own verb: diagnose the host for real microVM runs. Exit 0 when ready.
void AddCheckCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand("check", "diagnose whether this host can run microVM containers");
  command->callback([&context] {
    context.action = [] {
      std::string self_dir = SelfDirectory();
      shim::HostReport report = shim::CheckHost({
          .kvm_device = "/dev/kvm",
          .sys_module_dir = "/sys/module",
          .cgroup_root = "/sys/fs/cgroup",
          .guest_dir = Env("SANDBOX_RT_GUEST_DIR", "/var/lib/sandbox-rt/guest"),
          .vmm_path = Env("SANDBOX_RT_VMM", self_dir.empty() ? "" : self_dir + "/sandbox-vmm"),
          .path_env = Env("PATH", "/usr/bin:/bin"),
      });
      for (const shim::HostCheck& check : report.checks) {
        std::printf("[%-4s] %-16s %s\n", shim::VerdictName(check.verdict), check.name.c_str(), check.detail.c_str());
        if (!check.remedy.empty()) std::printf("       %-16s -> %s\n", "", check.remedy.c_str());
      }
      std::printf("ready for microVM containers: %s\n", report.ready ? "yes" : "no");
      return report.ready ? 0 : 1;
    };
  });
}

}  // namespace sandbox::cli
