#include "vmm/virtio/devices/fs.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>

#include <cstring>
#include <fmt/format.h>

namespace sandbox::vmm {
namespace {

constexpr uint64_t kFeatureEventIndex = 1ull << 29;

}  // namespace

Result<std::shared_ptr<FsDevice>> FsDevice::Create(const std::string& tag, const std::string& socket_path,
                                                   EventLoop& loop, std::function<void()> on_backend_lost) {
  SANDBOX_ASSIGN_OR_RETURN(VhostUserFrontend frontend, VhostUserFrontend::Connect(socket_path));
  return Create(tag, std::move(frontend), loop, std::move(on_backend_lost));
}

Result<std::shared_ptr<FsDevice>> FsDevice::Create(const std::string& tag, VhostUserFrontend frontend,
                                                   EventLoop& loop, std::function<void()> on_backend_lost) {
  if (tag.empty() || tag.size() > kMaxTagLength) {
    return InvalidArgument(fmt::format("virtio-fs tag \"{}\": want 1 to {} bytes", tag, kMaxTagLength));
  }
  if (!(frontend.backend_features() & kVirtioFeatureVersion1)) {
    return FailedPrecondition("the vhost-user back-end does not offer VIRTIO_F_VERSION_1");
  }
  std::shared_ptr<FsDevice> device(new FsDevice(std::move(frontend), loop, std::move(on_backend_lost)));
  device->tag_ = tag;
  std::memcpy(device->config_.tag, tag.data(), tag.size());
  for (size_t index = 0; index < device->queue_count(); ++index) {
    SANDBOX_ASSIGN_OR_RETURN(EventFd kick, EventFd::Create());
    SANDBOX_ASSIGN_OR_RETURN(EventFd call, EventFd::Create());
    device->kicks_.push_back(std::move(kick));
    device->calls_.push_back(std::move(call));
  }
  device->started_.assign(device->queue_count(), false);
  SANDBOX_RETURN_IF_ERROR(device->WatchFds());
  return device;
}

Status FsDevice::WatchFds() {
  std::weak_ptr<FsDevice> weak = weak_from_this();
  for (size_t index = 0; index < calls_.size(); ++index) {
    SANDBOX_RETURN_IF_ERROR(loop_.Add(calls_[index].fd(), EPOLLIN, [weak, index](uint32_t) {
      if (auto self = weak.lock()) self->BackendInterrupt(index);
    }));
  }
  // Only hang-ups: answers are read synchronously by the front-end.
  return loop_.Add(frontend_.socket(), EPOLLRDHUP, [weak](uint32_t) {
    auto self = weak.lock();
    if (!self) return;
    self->loop_.Remove(self->frontend_.socket());
    spdlog::error("virtio-fs \"{}\": the vhost-user back-end closed its connection", self->tag_);
    if (self->on_backend_lost_) self->on_backend_lost_();
  });
}

FsDevice::~FsDevice() {
  for (const EventFd& call : calls_) loop_.Remove(call.fd());
  loop_.Remove(frontend_.socket());
}

uint64_t FsDevice::offered_features() const {
  // Only what our transport can carry (split rings, no platform access);
  // the rest of the ring handling is the back-end's.
  return frontend_.backend_features() & (kVirtioFeatureVersion1 | kVirtioFeatureIndirectDescriptors | kFeatureEventIndex);
}

Status FsDevice::Activate(const ActiveQueues& active) {
  SANDBOX_RETURN_IF_ERROR(VirtioDevice::Activate(active));
  SANDBOX_RETURN_IF_ERROR(frontend_.SetFeatures(active.features));
  SANDBOX_RETURN_IF_ERROR(frontend_.SetMemoryTable(*active.memory));
  for (size_t index = 0; index < active.queues->size(); ++index) {
    const Virtqueue& queue = (*active.queues)[index];
    if (!queue.ready) continue;
    const VringLayout layout{.size = queue.size,
                             .descriptor_table = queue.descriptor_table,
                             .available_ring = queue.available_ring,
                             .used_ring = queue.used_ring};
    SANDBOX_RETURN_IF_ERROR(frontend_.StartVring(*active.memory, static_cast<uint32_t>(index), layout,
                                                 kicks_[index].fd(), calls_[index].fd()));
    started_[index] = true;
  }
  return Status::Ok();
}

void FsDevice::ProcessQueue(size_t index) {
  if (index >= kicks_.size()) return;
  notified_ = true;
  kicks_[index].Signal();
}

void FsDevice::BackendInterrupt(size_t index) {
  std::lock_guard lock(mutex());
  calls_[index].Consume();
  if (active_ && started_[index]) active_->signal_used();
}

void FsDevice::Reset() {
  // GET_VRING_BASE stops each ring, so the back-end lets go of the old rings
  // before the driver sets up new ones.
  for (size_t index = 0; index < started_.size(); ++index) {
    if (!started_[index]) continue;
    started_[index] = false;
    Result<uint32_t> stopped = frontend_.StopVring(static_cast<uint32_t>(index));
    if (!stopped.ok()) spdlog::warn("virtio-fs \"{}\": {}", tag_, stopped.status().message());
  }
  VirtioDevice::Reset();
}

Status FsDevice::CheckSnapshotable() const {
  if (!active_) return Status::Ok();  // not set up by the guest yet
  for (size_t index = 0; index < active_->queues->size(); ++index) {
    const Virtqueue& queue = (*active_->queues)[index];
    if (!queue.ready) continue;
    // The available ring's idx: how many requests the guest ever posted.
    Result<uint16_t> posted = active_->memory->ReadObject<uint16_t>(queue.available_ring + 2);
    if (!posted.ok()) return posted.status();
    // The count wraps at 2^16; a notification never goes unseen.
    if (*posted != 0 || notified_) {
      return FailedPrecondition(fmt::format("virtio-fs \"{}\": the guest has used the share ({} request(s) on queue {}); "
                                            "a snapshot needs a share it never mounted",
                                            tag_, *posted, index));
    }
  }
  return Status::Ok();
}

void FsDevice::SaveState(SnapshotWriter& out, const std::string& prefix) const {
  out.Add(prefix + "/tag", {reinterpret_cast<const uint8_t*>(tag_.data()), tag_.size()});
}

Status FsDevice::RestoreState(const SnapshotReader& in, const std::string& prefix) {
  SANDBOX_ASSIGN_OR_RETURN(std::span<const uint8_t> tag, in.Get(prefix + "/tag"));
  const std::string saved(tag.begin(), tag.end());
  if (saved != tag_) {
    return InvalidArgument(fmt::format("fs: tag \"{}\", but the snapshot's guest knows the share as \"{}\"", tag_, saved));
  }
  return Status::Ok();
}

}  // namespace sandbox::vmm
