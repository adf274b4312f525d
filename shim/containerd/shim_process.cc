#include "shim/containerd/shim_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/unix_socket.h"
#include "common/ttrpc/server.h"
#include "containerd/task.pb.h"
#include "shim/containerd/event_publisher.h"
#include "shim/containerd/pod_sandbox.h"
#include "shim/containerd/task_service.h"
#include "shim/microvm/guest_network.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/runtime/container_id.h"
#include "shim/runtime/process_identity.h"

namespace sandbox::shim::containerd {
namespace {

void Log(const std::string& message) {
  std::fprintf(stderr, "containerd-shim-sandbox-rt-v2: %s\n", message.c_str());
  std::fflush(stderr);
}

// The server's stderr: containerd's `log` FIFO in the bundle when it reads
// one (it shows the shim's lines in its own log), else the pod's shim.log.
void RedirectLog(const std::string& state_dir) {
  int log = ::open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (log >= 0) {
    const int flags = ::fcntl(log, F_GETFL);
    ::fcntl(log, F_SETFL, flags & ~O_NONBLOCK);
  } else {
    log = ::open((state_dir + "/shim.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  }
  if (log >= 0) {
    ::dup2(log, STDERR_FILENO);
    ::close(log);
  }
}

std::string Address(const std::string& socket) { return "unix://" + socket; }

}  // namespace

Result<PodLocation> LocatePod(const std::string& state_root, const std::string& namespace_name,
                              const std::string& task_id, const std::string& bundle) {
  if (namespace_name.empty()) return InvalidArgument("-namespace: required");
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(namespace_name).Wrap("-namespace"));
  SANDBOX_RETURN_IF_ERROR(ValidateContainerId(task_id).Wrap("-id"));
  std::string pod_id = task_id;
  const Result<std::string> config = ReadFile(bundle + "/config.json");
  if (config.ok()) {
    const nlohmann::json spec = nlohmann::json::parse(*config, nullptr, /*allow_exceptions=*/false);
    if (spec.is_object() && spec.contains("annotations") && spec["annotations"].is_object()) {
      const nlohmann::json& annotations = spec["annotations"];
      if (annotations.contains(kCriSandboxIdAnnotation) && annotations[kCriSandboxIdAnnotation].is_string()) {
        pod_id = annotations[kCriSandboxIdAnnotation].get<std::string>();
        SANDBOX_RETURN_IF_ERROR(ValidateContainerId(pod_id).Wrap(std::string("annotation ") + kCriSandboxIdAnnotation));
      }
    }
  }
  const std::string state_dir = state_root + "/" + namespace_name + "/" + pod_id;
  return PodLocation{.pod_id = pod_id, .state_dir = state_dir, .socket = state_dir + "/shim.sock"};
}

int RunStart(const ShimArgs& args, const std::string& self_binary) {
  char cwd[4096];
  if (::getcwd(cwd, sizeof(cwd)) == nullptr) {
    Log("start: getcwd: " + std::string(std::strerror(errno)));
    return 1;
  }
  Result<PodLocation> pod = LocatePod(kShimStateRoot, args.namespace_name, args.id, cwd);
  if (!pod.ok()) {
    Log("start: " + pod.status().message());
    return 1;
  }
  // The pod's shim already runs: its address is the answer.
  if (ConnectUnix(pod->socket).ok()) {
    std::printf("%s", Address(pod->socket).c_str());
    return 0;
  }
  (void)::unlink(pod->socket.c_str());  // a dead shim's
  if (Status made = MakeDirs(pod->state_dir, 0700); !made.ok()) {
    Log("start: " + made.message());
    return 1;
  }
  Result<UniqueFd> listener = ListenUnix(pod->socket, 64);
  if (!listener.ok()) {
    Log("start: " + listener.status().message());
    return 1;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    Log("start: fork: " + std::string(std::strerror(errno)));
    return 1;
  }
  if (pid == 0) {
    // Its own session, out of containerd's process group; the listener at fd 3.
    ::setsid();
    if (listener->get() == kListenerFd) {
      if (::fcntl(kListenerFd, F_SETFD, 0) != 0) ::_exit(126);
    } else if (::dup2(listener->get(), kListenerFd) < 0) {
      ::_exit(126);
    }
    // containerd reads start's stdout and stderr to their end: the server
    // must hold neither (it logs to the bundle's log FIFO or shim.log).
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    std::vector<std::string> serve = ServeArgs(args, pod->socket);
    std::vector<char*> argv = {const_cast<char*>("containerd-shim-sandbox-rt-v2")};
    for (std::string& arg : serve) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(self_binary.c_str(), argv.data());
    ::_exit(127);
  }
  // containerd reads the address from here, and finds the shim again from
  // the bundle's address file.
  (void)WriteFileAtomic(std::string(cwd) + "/address", Address(pod->socket), 0600);
  std::printf("%s", Address(pod->socket).c_str());
  return 0;
}

int RunServe(const ShimArgs& args, const std::string& self_binary) {
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd listener(kListenerFd);
  ::fcntl(kListenerFd, F_SETFD, FD_CLOEXEC);
  const std::string state_dir = args.socket.substr(0, args.socket.rfind('/'));
  RedirectLog(state_dir);
  const std::string self_dir = self_binary.substr(0, self_binary.rfind('/'));
  Result<MicroVmConfig> microvm = LoadMicroVmConfig(DefaultMicroVmConfigSources(self_dir));
  if (!microvm.ok()) {
    Log(microvm.status().message());
    return 1;
  }
  // containerd's `publish` dials its gRPC socket (-address), not TTRPC_ADDRESS.
  EventPublisher events({args.publish_binary, "--address", args.address}, args.namespace_name, Log);
  std::atomic<bool> shutdown{false};
  // Who serves this pod, for a delete after this shim died.
  (void)WriteFileAtomic(state_dir + "/shim.pid", FormatIdentity(SelfIdentity()), 0600);
  // Shutdown wakes the accept below by shutting the listener down. The
  // process may end before Shutdown's answer is out: containerd ignores
  // the closed connection then (docs/shim-v2-protocol.md).
  TaskService service({.state_dir = state_dir + "/vm", .microvm = *microvm}, events,
                      [&shutdown, fd = listener.get()] {
                        shutdown = true;
                        ::shutdown(fd, SHUT_RDWR);
                      });
  ttrpc::Server server;
  service.Register(server);
  Log("serving pod " + state_dir + " on " + args.socket);
  // Connections are served on threads of their own.
  while (!shutdown) {
    UniqueFd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection.valid()) {
      if (errno != EINTR && errno != ECONNABORTED && !shutdown) Log("accept: " + std::string(std::strerror(errno)));
      continue;
    }
    std::thread([&server, connection = std::move(connection)]() mutable {
      (void)server.ServeConnection(std::move(connection));
    }).detach();
  }
  service.Close();
  (void)::unlink(args.socket.c_str());
  (void)RemoveTree(state_dir);
  std::fflush(stderr);
  ::_exit(0);
}

int RunDelete(const ShimArgs& args) {
  char cwd[4096];
  const std::string bundle = !args.bundle.empty() ? args.bundle : (::getcwd(cwd, sizeof(cwd)) ? cwd : ".");
  Result<PodLocation> pod = LocatePod(kShimStateRoot, args.namespace_name, args.id, bundle);
  // containerd runs delete after every task delete, not only for a dead
  // shim: a pod's shim that still answers keeps serving its other tasks.
  if (pod.ok() && ConnectUnix(pod->socket).ok()) {
    Log("delete: the pod's shim still serves " + pod->socket);
  } else if (pod.ok()) {
    // A shim that no longer answers goes first, then its VM (sandbox-vmm
    // dies with its shim, being its helper, unless the shim died before
    // the helper's prctl).
    if (std::optional<ProcessIdentity> shim = ReadIdentity(pod->state_dir + "/shim.pid")) KillAndWait(*shim);
    const SandboxFiles files(pod->state_dir + "/vm");
    if (std::optional<ProcessIdentity> vmm = ReadIdentity(files.vmm_pid)) KillAndWait(*vmm);
    if (Status disconnected = DisconnectGuestNetwork(files); !disconnected.ok()) {
      Log("delete: removing the pod network's mirrors: " + disconnected.message());
    }
    (void)::unlink(pod->socket.c_str());
    if (pod->pod_id == args.id) (void)RemoveTree(pod->state_dir);
  } else {
    Log("delete: " + pod.status().message());
  }
  (void)::umount2((bundle + "/rootfs").c_str(), MNT_DETACH);
  ::containerd::task::v2::DeleteResponse response;
  response.set_pid(0);
  response.set_exit_status(128 + SIGKILL);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  response.mutable_exited_at()->set_seconds(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  response.mutable_exited_at()->set_nanos(
      static_cast<int32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() % 1'000'000'000));
  const std::string encoded = response.SerializeAsString();
  (void)!::write(STDOUT_FILENO, encoded.data(), encoded.size());
  return 0;
}

}  // namespace sandbox::shim::containerd
