// virtio-fs (device type 26) served by a vhost-user back-end (virtiofsd): the
// VMM only negotiates features, exposes the tag, and hands the queues to the
// back-end at DRIVER_OK. Kicks and used-buffer interrupts take one hop
// through the event loop, because virtio-mmio needs InterruptStatus set
// before the guest looks at the rings, and the transport's notification
// eventfds stay the transport's.
//
// The back-end is trusted no more than the guest would be: it only ever sees
// the memfd and the rings. A back-end that goes away ends the VM
// (`on_backend_lost`), since the guest's file system would hang otherwise.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vmm/event_loop.h"
#include "vmm/vhost_user/frontend.h"
#include "vmm/virtio/device.h"

namespace sandbox::vmm {

class FsDevice : public VirtioDevice, public std::enable_shared_from_this<FsDevice> {
 public:
  static constexpr size_t kMaxTagLength = 36;
  static constexpr uint32_t kRequestQueues = 1;

  // Connects to the back-end at `socket_path` now, so a missing virtiofsd
  // fails the VMM's start rather than the guest's mount.
  static Result<std::shared_ptr<FsDevice>> Create(const std::string& tag, const std::string& socket_path,
                                                  EventLoop& loop, std::function<void()> on_backend_lost);
  // The same over a connected front-end (tests).
  static Result<std::shared_ptr<FsDevice>> Create(const std::string& tag, VhostUserFrontend frontend,
                                                  EventLoop& loop, std::function<void()> on_backend_lost);
  ~FsDevice() override;

  uint32_t device_type() const override { return 26; }
  const char* name() const override { return "fs"; }
  uint64_t offered_features() const override;
  size_t queue_count() const override { return 1 + kRequestQueues; }  // hiprio, requests
  Status Activate(const ActiveQueues& active) override;
  void ProcessQueue(size_t index) override;
  void Reset() override;
  // A share the guest never used can be snapshotted: the back-end then holds
  // no state (no FUSE session), so a restored VM's new virtiofsd takes over
  // its rings from index 0. The tag is saved and must match on restore.
  Status CheckSnapshotable() const override;
  void SaveState(SnapshotWriter& out, const std::string& prefix) const override;
  Status RestoreState(const SnapshotReader& in, const std::string& prefix) override;

 protected:
  std::span<const uint8_t> config_bytes() const override {
    return {reinterpret_cast<const uint8_t*>(&config_), sizeof(config_)};
  }

 private:
#pragma pack(push, 1)
  struct Config {
    char tag[kMaxTagLength] = {};
    uint32_t num_request_queues = kRequestQueues;
  };
#pragma pack(pop)

  FsDevice(VhostUserFrontend frontend, EventLoop& loop, std::function<void()> on_backend_lost)
      : frontend_(std::move(frontend)), loop_(loop), on_backend_lost_(std::move(on_backend_lost)) {}
  Status WatchFds();
  void BackendInterrupt(size_t index);

  VhostUserFrontend frontend_;
  EventLoop& loop_;
  std::function<void()> on_backend_lost_;
  std::string tag_;
  Config config_;  // the tag, not NUL-terminated at 36 bytes
  std::vector<EventFd> kicks_;  // ours -> back-end, one per queue
  std::vector<EventFd> calls_;  // back-end -> ours
  std::vector<bool> started_;   // rings handed over since the last reset
  bool notified_ = false;       // the guest ever notified a queue (it used the share)
};

}  // namespace sandbox::vmm
