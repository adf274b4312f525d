// Benchmark (label bench): create + start + wait + remove of a /bin/true
// container through sandbox-agent (host test mode, over its ttrpc socket)
// against `crun run` of the same bundle, N runs each, side by side; prints
// both medians and the ratio. Asserts nothing about speed; fails only when
// a run fails.
//   agent_bench SANDBOX_AGENT [N]
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "agent.pb.h"
#include "agent/agent_host_process.h"
#include "agent/listener.h"
#include "common/base/file_util.h"
#include "common/base/subprocess.h"
#include "common/base/temp_dir.h"
#include "common/oci/default_spec.h"
#include "common/oci/spec_json.h"
#include "common/ttrpc/client.h"
#include "proto/agent_constants.h"

namespace sandbox::agent {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "agent_bench: %s\n", message.c_str());
  std::exit(1);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

double TimedMs(const std::function<void()>& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// A busybox-static rootfs holding /bin/true, and config.json as
// `sandbox-rt spec` writes it (ociVersion 1.0.2: Debian 12's crun refuses
// newer); without its device rules when neither side has cgroups.
std::string MakeBundle(const std::string& dir, bool with_cgroups) {
  const std::string rootfs = dir + "/rootfs";
  for (const char* sub : {"/bin", "/proc", "/dev", "/sys", "/tmp"}) {
    if (!MakeDirs(rootfs + sub).ok()) Die("cannot make " + rootfs + sub);
  }
  Result<CommandResult> copied = RunCommand({"cp", "/bin/busybox", rootfs + "/bin/busybox"});
  if (!copied.ok() || copied->exit_code != 0) Die("busybox-static is needed (scripts/setup.sh)");
  if (::symlink("busybox", (rootfs + "/bin/true").c_str()) != 0) Die("symlink /bin/true");
  oci::Spec spec = oci::DefaultSpec({});
  spec.oci_version = "1.0.2";
  spec.process->terminal = false;
  spec.process->args = oci::StringList{"/bin/true"};
  spec.root->path = rootfs;
  if (!with_cgroups) spec.linux->resources.reset();
  const std::string config = oci::SpecToJson(spec);
  if (!WriteFileAtomic(dir + "/config.json", config).ok()) Die("cannot write config.json");
  return config;
}

void Check(const Result<std::string>& reply, const char* what) {
  if (!reply.ok()) Die(std::string(what) + ": " + reply.status().message());
}

}  // namespace
}  // namespace sandbox::agent

int main(int argc, char** argv) {
  using namespace sandbox;
  using namespace sandbox::agent;
  if (argc < 2) Die("usage: agent_bench SANDBOX_AGENT [N]");
  const std::string agent_binary = argv[1];
  const int runs = argc > 2 ? std::atoi(argv[2]) : 20;
  TempDir temp = TempDir::CreateOrDie("/tmp/sandbox-agent-bench-");
  const std::string dir = temp.path();
  // A cgroup per container on both sides where the host is pure cgroup v2
  // (the test host, the guest); on a hybrid v1 host crun refuses to run with
  // cgroups and the agent has none: both run without.
  struct statfs fs {};
  const bool with_cgroups = ::statfs(kCgroupRoot, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
  const std::string config = MakeBundle(dir, with_cgroups);
  UniqueFd log;
  std::vector<std::string> args = {"sandbox-agent", "--listen", "unix:" + dir + "/agent.sock", "--host-socket-prefix",
                                   dir + "/host", "--work-dir", dir + "/containers"};
  if (with_cgroups) args.insert(args.end(), {"--cgroup-root", kCgroupRoot});
  Result<pid_t> started = StartHostModeAgent(agent_binary, args, log);
  if (!started.ok()) Die(started.status().message());
  const pid_t agent = *started;
  Result<UniqueFd> connection = Connect("unix:" + dir + "/agent.sock");
  if (!connection.ok()) Die("connect: " + connection.status().message());
  ttrpc::Client client(std::move(connection).value());

  std::vector<double> ours, crun;
  for (int i = 0; i < runs; ++i) {
    const std::string id = "bench-" + std::to_string(i);
    v1::CreateContainerRequest create;
    create.set_container_id(id);
    create.set_config_json(config);
    create.set_rootfs_source(dir + "/rootfs");
    v1::ContainerRequest container;
    container.set_container_id(id);
    v1::ProcessRequest wait;
    wait.set_container_id(id);
    ours.push_back(TimedMs([&] {
      Check(client.Call(kAgentService, "CreateContainer", create.SerializeAsString()), "CreateContainer");
      Check(client.Call(kAgentService, "StartContainer", container.SerializeAsString()), "StartContainer");
      Result<std::string> waited = client.Call(kAgentService, "WaitProcess", wait.SerializeAsString());
      Check(waited, "WaitProcess");
      v1::WaitProcessResponse status;
      if (!status.ParseFromString(*waited) || status.exit_status() != 0) Die("/bin/true did not exit 0");
      Check(client.Call(kAgentService, "RemoveContainer", container.SerializeAsString()), "RemoveContainer");
    }));
  }
  ::kill(agent, SIGKILL);
  ::waitpid(agent, nullptr, 0);
  if (with_cgroups) (void)::rmdir((std::string(kCgroupRoot) + "/sandbox").c_str());

  for (int i = 0; i < runs; ++i) {
    crun.push_back(TimedMs([&] {
      std::vector<std::string> argv = {"crun", "--root", dir + "/crun"};
      if (!with_cgroups) argv.push_back("--cgroup-manager=disabled");
      argv.insert(argv.end(), {"run", "-b", dir, "bench-" + std::to_string(i)});
      Result<CommandResult> ran = RunCommand(argv);
      if (!ran.ok() || ran->exit_code != 0) Die("crun run failed: " + (ran.ok() ? ran->output : ran.status().message()));
    }));
  }
  auto print = [](const char* name, const std::vector<double>& times) {
    std::printf("%-22s median %7.1f ms (N=%zu, min %.1f, max %.1f)\n", name, Median(times), times.size(),
                *std::min_element(times.begin(), times.end()), *std::max_element(times.begin(), times.end()));
  };
  print("sandbox-agent create+start+wait+remove", ours);
  print("crun run", crun);
  std::printf("ratio sandbox-agent/crun: %.2f (goal <= 1.0)%s\n", Median(ours) / Median(crun),
              with_cgroups ? " (both with a cgroup per container)"
                           : " (both without cgroups: this host is not pure cgroup v2)");
  return 0;
}
