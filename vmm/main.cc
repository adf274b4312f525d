// sandbox-vmm --config FILE.json: runs one microVM until it ends. The exit
// status says how (see VmExit and vmm/README.md).
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "vmm/config.h"
#include "vmm/machine.h"
#include "vmm/sandboxing/jail.h"

namespace {

int Fail(const sandbox::Status& status) {
  std::fprintf(stderr, "sandbox-vmm: %s\n", status.message().c_str());
  return static_cast<int>(sandbox::vmm::VmExit::kVmmError);
}

}  // namespace

int main(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  // One malloc arena: glibc reads /proc/sys/vm/overcommit_memory the first
  // time it shrinks a thread's own arena, an open(2) the seccomp filters
  // forbid (seen on the event loop at a restored VM's teardown). The main
  // arena shrinks with brk instead.
  mallopt(M_ARENA_MAX, 1);
  CLI::App app{"sandbox-vmm: one KVM microVM per process"};
  std::string config_path;
  bool print_cmdline = false;
  app.add_option("--config", config_path, "the VM's JSON configuration (schema: vmm/README.md)")->required();
  app.add_flag("--print-cmdline", print_cmdline, "log the final kernel command line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : static_cast<int>(sandbox::vmm::VmExit::kVmmError);
  }

  auto config = sandbox::vmm::LoadVmmConfig(config_path);
  if (!config.ok()) return Fail(config.status());
  auto logger = spdlog::stderr_color_mt("sandbox-vmm");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e sandbox-vmm %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config->log_level));

  // SIGTERM/SIGINT end the VM; they are taken by a signalfd in Machine::Run,
  // so every thread must keep them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto machine = sandbox::vmm::Machine::Build(*config);
  if (!machine.ok()) return Fail(machine.status());
  // Before any thread starts (Run), and before the guest's first instruction.
  if (config->jail) {
    const auto max_file_bytes = sandbox::vmm::JailFileSizeLimit(*config);  // while the disks are in view
    if (!max_file_bytes.ok()) return Fail(max_file_bytes.status());
    const sandbox::Status jailed = sandbox::vmm::EnterJail(*config->jail, *max_file_bytes);
    if (!jailed.ok()) return Fail(jailed);
  }
  if (print_cmdline) spdlog::info("kernel command line: {}", (*machine)->command_line());
  // The host's share of boot time (benchmarks split a start with it).
  spdlog::info("entering the guest {} ms after start",
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
  const sandbox::vmm::VmExit reason = (*machine)->Run();
  spdlog::info("the VM ended: exit status {}", static_cast<int>(reason));
  return static_cast<int>(reason);
}
