// sandbox-agent: PID 1 of every microVM (and, with --listen unix:PATH, a
// host test mode running the same code without the guest init duties).
#include <signal.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <thread>

#include "agent/agent_service.h"
#include "agent/container/container_init.h"
#include "agent/container/exec_init.h"
#include "agent/process_table.h"
#include "agent/guest_init.h"
#include "agent/listener.h"
#include "agent/self_executable.h"
#include "common/base/file_util.h"
#include "proto/agent_constants.h"

namespace {

void Log(const std::string& message) {
  // The console is the agent's log: the shim shows its tail when boot fails.
  std::fprintf(stderr, "sandbox-agent: %s\n", message.c_str());
}

// The guest's uptime (CLOCK_BOOTTIME, as /proc/uptime), readable before
// /proc is mounted.
std::string UptimeSeconds() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", static_cast<double>(now.tv_sec) + now.tv_nsec / 1e9);
  return text;
}

// What the inits execute: in the guest, the agent's own file through a
// read-only overlay (no second copy in guest RAM); a sealed copy where the
// kernel cannot mount one (a vm.kernel without overlayfs).
sandbox::Result<sandbox::UniqueFd> GuestSelfExecutable() {
  // On /run's tmpfs: overlayfs refuses a layer inside another (here "/").
  const std::string empty_layer = "/run/sandbox-agent/empty-layer";
  sandbox::Status made = sandbox::MakeDirs(empty_layer, 0700);
  sandbox::Result<sandbox::UniqueFd> overlay =
      made.ok() ? sandbox::agent::ReadOnlySelfExecutable(empty_layer) : sandbox::Result<sandbox::UniqueFd>(made);
  if (overlay.ok()) return overlay;
  Log("the agent's binary through a read-only overlay: " + overlay.status().message() + "; using a sealed copy");
  return sandbox::agent::SealedSelfExecutable();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sandbox;
  // A container's first process: the agent binary re-executed by the agent.
  if (argc == 2 && std::string(argv[1]) == agent::kContainerInitCommand) return agent::RunContainerInit();
  if (argc == 2 && std::string(argv[1]) == agent::kExecInitCommand) return agent::RunExecInit();
  bool pid1 = ::getpid() == 1;
  std::string listen = "vsock:" + std::to_string(agent::kAgentVsockPort);
  CLI::App app{"sandbox-agent: the guest half of sandbox-rt", "sandbox-agent"};
  app.add_option("--listen", listen, "vsock:PORT (guest) or unix:PATH (host test mode)")->capture_default_str();
  std::string host_socket_prefix;
  app.add_option("--host-socket-prefix", host_socket_prefix,
                 "host test mode: reach host stdio port P at the Unix socket PREFIX_P, as sandbox-vmm's hybrid "
                 "vsock does");
  std::string work_dir = "/run/sandbox-agent/containers";
  app.add_option("--work-dir", work_dir, "where block-device rootfs are mounted")->capture_default_str();
  std::string cgroup_root;
  app.add_option("--cgroup-root", cgroup_root,
                 "cgroup2 mount for container cgroups (default: /sys/fs/cgroup as PID 1, none in host test mode)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 1;
  }

  // Stdio relays see a vanished reader as a write error, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  if (pid1 && cgroup_root.empty()) cgroup_root = "/sys/fs/cgroup";
  agent::ProcessTable processes;
  agent::StartReaper(processes, pid1);
  if (pid1) {
    // The kernel's share of boot time: its uptime when it ran /init.
    Log("started (uptime " + UptimeSeconds() + " s)");
    Status setup = agent::SetUpGuest();
    if (!setup.ok()) Log("guest setup: " + setup.message());
    Result<size_t> seeded = agent::SeedKernelRng();
    if (seeded.ok()) {
      char byte;
      const bool ready = ::getrandom(&byte, 1, GRND_NONBLOCK) == 1;
      Log("seeded the kernel RNG with " + std::to_string(*seeded) + " bytes from /dev/hwrng" +
          (ready ? "; getrandom() is ready" : "; getrandom() would still block"));
    } else {
      Log("seeding the kernel RNG: " + seeded.status().message());
    }
  }
  Result<UniqueFd> listener = agent::Listen(listen);
  if (!listener.ok()) {
    Log(listener.status().message());
    if (pid1) (void)agent::PowerOff();
    return 1;
  }
  Result<UniqueFd> self = pid1 ? GuestSelfExecutable() : agent::SealedSelfExecutable();
  if (!self.ok()) {
    Log("the agent's own executable: " + self.status().message());
    if (pid1) (void)agent::PowerOff();
    return 1;
  }
  agent::AgentService service({.pid1 = pid1,
                               .agent_executable = self->get(),
                               .host_socket_prefix = host_socket_prefix,
                               .work_dir = work_dir,
                               .cgroup_root = cgroup_root},
                              processes);
  ttrpc::Server server;
  service.RegisterOn(server);
  // Boot-to-ready time, for the benchmarks that compare VMMs.
  const std::string uptime = pid1 ? ", uptime " + UptimeSeconds() + " s" : "";
  // Log() adds the "sandbox-agent: " prefix: the line starts with kReadyMarker.
  Log("ready (listening on " + listen + uptime + ")");

  for (;;) {
    Result<UniqueFd> connection = agent::Accept(listener->get());
    if (!connection.ok()) {
      Log(connection.status().message());
      continue;
    }
    std::thread([&server, &service, pid1, fd = std::move(connection).value()]() mutable {
      Status served = server.ServeConnection(std::move(fd));
      if (!served.ok()) Log("connection: " + served.message());
      if (service.destroy_requested()) {
        Log("DestroySandbox: shutting down");
        if (pid1) (void)agent::PowerOff();
        std::_Exit(0);
      }
    }).detach();
  }
}
