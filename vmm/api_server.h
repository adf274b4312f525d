// The control API on "api_socket": a Unix stream socket; each request is one
// JSON object on one line, each answer one JSON line (protocol in
// vmm/README.md). Runs on the device event loop.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "vmm/event_loop.h"
#include "vmm/virtio/devices/balloon.h"

namespace sandbox::vmm {

// What the API can do to a VM (Machine implements it; tests may fake it).
class VmControl {
 public:
  virtual ~VmControl() = default;
  virtual std::string state() const = 0;  // "running", "paused"
  virtual Status Pause() = 0;
  virtual Status Resume() = 0;
  // Asks the guest to shut down (Ctrl-Alt-Del).
  virtual void RequestGuestShutdown() = 0;
  // Ends the VM now (exit status 4).
  virtual void ForceStop() = 0;
  // One line per vCPU: run state, registers, kernel text on its stack (the
  // vCPUs are parked for the reading if they were running).
  virtual Result<std::vector<std::string>> DescribeVcpus() = 0;
  // Pauses the VM and writes a snapshot to the two files (state, guest RAM).
  // `shared_ranges`: guest RAM the guest says it never writes nor uses for
  // I/O (its agent's executable), which VMs restored from the snapshot map
  // copy-on-write from its memory file instead of copying.
  virtual Status Snapshot(UniqueFd state, UniqueFd memory, std::vector<GuestRange> shared_ranges) = 0;
  // What the guest gave back through free page reporting so far;
  // kFailedPrecondition for a VM without a balloon device.
  virtual Result<BalloonDevice::Stats> Balloon() const = 0;
};

class ApiServer {
 public:
  static constexpr size_t kMaxRequestLine = 4096;
  static constexpr uint64_t kDefaultShutdownTimeoutMs = 5000;

  // Binds `path` (which must not exist) and serves it on `loop`.
  static Result<std::unique_ptr<ApiServer>> Create(const std::string& path, EventLoop& loop, VmControl& vm);
  ~ApiServer();

  // The answer to one request line and the fds that came with it (exposed
  // for tests); the fds are consumed or closed.
  std::string Handle(const std::string& line, std::vector<UniqueFd> fds = {});

 private:
  ApiServer(std::string path, EventLoop& loop, VmControl& vm) : path_(std::move(path)), loop_(loop), vm_(vm) {}
  void OnAccept();
  void OnClient(int fd);
  void ArmShutdownTimer(uint64_t timeout_ms);

  std::string path_;
  EventLoop& loop_;
  VmControl& vm_;
  UniqueFd listener_;
  UniqueFd shutdown_timer_;
  struct Client {
    UniqueFd socket;
    std::string buffer;
    std::vector<UniqueFd> fds;  // SCM_RIGHTS with the request being read
  };
  std::map<int, Client> clients_;
};

}  // namespace sandbox::vmm
