#include "vmm/virtio/mmio_transport.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>

#include <cstring>
#include <fmt/format.h>

namespace sandbox::vmm {
namespace {

constexpr uint32_t kMagic = 0x74726976;  // "virt"
constexpr uint32_t kVersion = 2;
constexpr uint32_t kVendor = 0x53425854;  // "TXBS"
constexpr uint32_t kInterruptUsedBuffer = VIRTIO_MMIO_INT_VRING;
constexpr uint32_t kInterruptConfig = VIRTIO_MMIO_INT_CONFIG;

void SetLow(uint64_t& field, uint32_t value) { field = (field & 0xffffffff00000000ull) | value; }
void SetHigh(uint64_t& field, uint32_t value) { field = (field & 0xffffffffull) | (uint64_t{value} << 32); }

}  // namespace

MmioTransport::MmioTransport(std::shared_ptr<VirtioDevice> device, const GuestMemory& memory, EventLoop& loop,
                             uint64_t base, uint32_t irq)
    : device_(std::move(device)), memory_(memory), loop_(loop), base_(base), irq_(irq) {
  queues_.resize(device_->queue_count());
  for (size_t index = 0; index < queues_.size(); ++index) {
    queues_[index].max_size = std::min(device_->max_queue_size(index), Virtqueue::kMaxSize);
    queues_[index].size = queues_[index].max_size;
  }
}

Result<std::shared_ptr<MmioTransport>> MmioTransport::Create(std::shared_ptr<VirtioDevice> device,
                                                             const GuestMemory& memory, EventLoop& loop,
                                                             uint64_t base, uint32_t irq) {
  std::shared_ptr<MmioTransport> transport(new MmioTransport(std::move(device), memory, loop, base, irq));
  SANDBOX_ASSIGN_OR_RETURN(transport->interrupt_, EventFd::Create());
  std::weak_ptr<MmioTransport> weak = transport;
  for (size_t index = 0; index < transport->queues_.size(); ++index) {
    SANDBOX_ASSIGN_OR_RETURN(EventFd notification, EventFd::Create());
    const int fd = notification.fd();
    transport->notifications_.push_back(std::move(notification));
    SANDBOX_RETURN_IF_ERROR(loop.Add(fd, EPOLLIN, [weak, index](uint32_t) {
      if (auto self = weak.lock()) {
        self->notifications_[index].Consume();
        self->NotifyQueue(index);
      }
    }));
  }
  return transport;
}

Status MmioTransport::AttachToVm(Vm& vm) {
  SANDBOX_RETURN_IF_ERROR(vm.RegisterIrqfd(interrupt_.fd(), irq_));
  vm_ = &vm;
  for (size_t index = 0; index < notifications_.size(); ++index) {
    SANDBOX_RETURN_IF_ERROR(vm.RegisterMmioIoeventfd(notifications_[index].fd(), base_ + VIRTIO_MMIO_QUEUE_NOTIFY,
                                                     static_cast<uint32_t>(index)));
  }
  return Status::Ok();
}

MmioTransport::~MmioTransport() {
  for (size_t index = 0; index < notifications_.size(); ++index) {
    loop_.Remove(notifications_[index].fd());
    if (vm_ != nullptr) {
      (void)vm_->UnregisterMmioIoeventfd(notifications_[index].fd(), base_ + VIRTIO_MMIO_QUEUE_NOTIFY,
                                         static_cast<uint32_t>(index));
    }
  }
}

std::string MmioTransport::KernelCommandLineDevice() const {
  return fmt::format("virtio_mmio.device=4K@{:#x}:{}", base_, irq_);
}

void MmioTransport::Read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(device_->mutex());
  if (offset >= VIRTIO_MMIO_CONFIG) {
    device_->ReadConfig(offset - VIRTIO_MMIO_CONFIG, data);
    return;
  }
  std::fill(data.begin(), data.end(), 0);
  if (data.size() != 4 || offset % 4 != 0) {
    guest_warnings_.Warn("{}: ignored a {}-byte register read at {:#x}", device_->name(), data.size(), offset);
    return;
  }
  const uint32_t value = ReadRegister(offset);
  std::memcpy(data.data(), &value, sizeof(value));
}

void MmioTransport::Write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(device_->mutex());
  if (offset >= VIRTIO_MMIO_CONFIG) {
    device_->WriteConfig(offset - VIRTIO_MMIO_CONFIG, data);
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) {
    guest_warnings_.Warn("{}: ignored a {}-byte register write at {:#x}", device_->name(), data.size(), offset);
    return;
  }
  uint32_t value;
  std::memcpy(&value, data.data(), sizeof(value));
  WriteRegister(offset, value);
}

Virtqueue* MmioTransport::SelectedQueue() {
  return queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
}

uint32_t MmioTransport::ReadRegister(uint64_t offset) {
  Virtqueue* queue = SelectedQueue();
  switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
      return kMagic;
    case VIRTIO_MMIO_VERSION:
      return kVersion;
    case VIRTIO_MMIO_DEVICE_ID:
      return device_->device_type();
    case VIRTIO_MMIO_VENDOR_ID:
      return kVendor;
    case VIRTIO_MMIO_DEVICE_FEATURES:
      return device_features_select_ < 2
                 ? static_cast<uint32_t>(device_->offered_features() >> (32 * device_features_select_))
                 : 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
      return queue != nullptr ? queue->max_size : 0;
    case VIRTIO_MMIO_QUEUE_READY:
      return queue != nullptr && queue->ready ? 1 : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
      return interrupt_status_.load();
    case VIRTIO_MMIO_STATUS:
      return status_;
    case VIRTIO_MMIO_CONFIG_GENERATION:
      return config_generation_;
    default:
      spdlog::debug("virtio-{}: read of unknown register {:#x}", device_->name(), offset);
      return 0;
  }
}

void MmioTransport::WriteRegister(uint64_t offset, uint32_t value) {
  Virtqueue* queue = SelectedQueue();
  // Queue registers may only change while the queue is not live.
  const bool queue_writable = queue != nullptr && !queue->ready && !activated_;
  switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
      device_features_select_ = value;
      return;
    case VIRTIO_MMIO_DRIVER_FEATURES:
      if (!(status_ & VIRTIO_CONFIG_S_FEATURES_OK) && driver_features_select_ < 2) {
        if (driver_features_select_ == 0) {
          SetLow(driver_features_, value);
        } else {
          SetHigh(driver_features_, value);
        }
      }
      return;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
      driver_features_select_ = value;
      return;
    case VIRTIO_MMIO_QUEUE_SEL:
      queue_select_ = value;
      return;
    case VIRTIO_MMIO_QUEUE_NUM:
      if (queue_writable) queue->size = static_cast<uint16_t>(std::min<uint32_t>(value, 0xffff));
      return;
    case VIRTIO_MMIO_QUEUE_READY:
      if (queue != nullptr && !activated_) queue->ready = value == 1;
      return;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
      // Notifications for real queues arrive through ioeventfds; one that
      // reaches us names a queue that does not exist.
      if (value < queues_.size()) {
        if (activated_ && !needs_reset_ && queues_[value].ready) device_->ProcessQueue(value);
      } else {
        guest_warnings_.Warn("{}: notify for queue {} which does not exist", device_->name(), value);
      }
      return;
    case VIRTIO_MMIO_INTERRUPT_ACK:
      interrupt_status_.fetch_and(~value);
      return;
    case VIRTIO_MMIO_STATUS:
      WriteStatus(value);
      return;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
      if (queue_writable) SetLow(queue->descriptor_table, value);
      return;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
      if (queue_writable) SetHigh(queue->descriptor_table, value);
      return;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
      if (queue_writable) SetLow(queue->available_ring, value);
      return;
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
      if (queue_writable) SetHigh(queue->available_ring, value);
      return;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
      if (queue_writable) SetLow(queue->used_ring, value);
      return;
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
      if (queue_writable) SetHigh(queue->used_ring, value);
      return;
    default:
      spdlog::debug("virtio-{}: write of unknown register {:#x}", device_->name(), offset);
      return;
  }
}

void MmioTransport::WriteStatus(uint32_t value) {
  if (value == 0) {
    ResetLocked();
    return;
  }
  // The driver only ever adds bits; anything else is ignored.
  if ((value & status_) != status_) {
    guest_warnings_.Warn("{}: status {:#x} clears bits of {:#x}; ignored", device_->name(), value, status_);
    return;
  }
  const uint32_t added = value & ~status_;
  if (added & VIRTIO_CONFIG_S_FEATURES_OK) {
    const uint64_t offered = device_->offered_features();
    if ((driver_features_ & ~offered) != 0 || !(driver_features_ & kVirtioFeatureVersion1)) {
      guest_warnings_.Warn("{}: driver features {:#x} not acceptable (offered {:#x})", device_->name(),
                   driver_features_, offered);
      value &= ~VIRTIO_CONFIG_S_FEATURES_OK;  // the driver reads this back and gives up
    }
  }
  if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !(status_ & VIRTIO_CONFIG_S_FAILED)) {
    if (!(value & VIRTIO_CONFIG_S_FEATURES_OK)) {
      status_ = value;
      Fail(FailedPrecondition("DRIVER_OK without FEATURES_OK"));
      return;
    }
    status_ = value;
    const Status activated = ActivateDevice();
    if (!activated.ok()) Fail(activated);
    return;
  }
  status_ = value;
}

Status MmioTransport::ActivateDevice() {
  const bool indirect = driver_features_ & kVirtioFeatureIndirectDescriptors;
  for (size_t index = 0; index < queues_.size(); ++index) {
    Virtqueue& queue = queues_[index];
    queue.set_indirect_allowed(indirect);
    if (!queue.ready) continue;
    SANDBOX_RETURN_IF_ERROR(queue.Validate(memory_).Wrap(fmt::format("queue {}", index)));
  }
  ActiveQueues active;
  active.memory = &memory_;
  active.queues = &queues_;
  active.features = driver_features_;
  std::weak_ptr<MmioTransport> weak = weak_from_this();
  active.signal_used = [weak] {
    if (auto self = weak.lock()) self->RaiseInterrupt(kInterruptUsedBuffer);
  };
  active.fail = [weak](const Status& why) {
    if (auto self = weak.lock()) self->Fail(why);  // already under the device lock
  };
  activated_ = true;
  return device_->Activate(active);
}

namespace {

// The transport's registers, as a snapshot keeps them.
struct TransportState {
  uint64_t driver_features;
  uint32_t device_type, status, device_features_select, driver_features_select, queue_select, config_generation,
      interrupt_status, queue_count;
  uint8_t activated, needs_reset;
  uint8_t padding[6];
};

}  // namespace

Status MmioTransport::SaveState(SnapshotWriter& out, const std::string& prefix) {
  std::lock_guard lock(device_->mutex());
  SANDBOX_RETURN_IF_ERROR(device_->CheckSnapshotable());
  const TransportState state{driver_features_,       device_->device_type(), status_,
                             device_features_select_, driver_features_select_, queue_select_,
                             config_generation_,      interrupt_status_.load(), static_cast<uint32_t>(queues_.size()),
                             activated_,              needs_reset_,            {}};
  out.AddStruct(prefix + "/transport", state);
  std::vector<Virtqueue::State> queues;
  for (size_t index = 0; index < queues_.size(); ++index) {
    Virtqueue::State queue = queues_[index].SaveState();
    // Ring indices run free modulo 2^16, so wrapping below 0 is what the ring means.
    queue.next_available = static_cast<uint16_t>(queue.next_available - device_->ChainsHeld(index));
    queues.push_back(queue);
  }
  out.Add(prefix + "/queues", {reinterpret_cast<const uint8_t*>(queues.data()), queues.size() * sizeof(Virtqueue::State)});
  device_->SaveState(out, prefix);
  return Status::Ok();
}

Status MmioTransport::RestoreState(const SnapshotReader& in, const std::string& prefix) {
  std::lock_guard lock(device_->mutex());
  TransportState state{};
  SANDBOX_RETURN_IF_ERROR(in.GetStruct(prefix + "/transport", state));
  if (state.device_type != device_->device_type() || state.queue_count != queues_.size()) {
    return InvalidArgument(fmt::format("snapshot: {} is a device of type {} with {} queues, not virtio-{}", prefix,
                                       state.device_type, state.queue_count, device_->name()));
  }
  SANDBOX_ASSIGN_OR_RETURN(std::span<const uint8_t> queues, in.Get(prefix + "/queues"));
  if (queues.size() != queues_.size() * sizeof(Virtqueue::State)) {
    return InvalidArgument(fmt::format("snapshot: {}/queues holds {} bytes", prefix, queues.size()));
  }
  for (size_t index = 0; index < queues_.size(); ++index) {
    Virtqueue::State queue{};
    std::memcpy(&queue, queues.data() + index * sizeof(queue), sizeof(queue));
    queues_[index].RestoreState(queue);
  }
  driver_features_ = state.driver_features;
  status_ = state.status;
  device_features_select_ = state.device_features_select;
  driver_features_select_ = state.driver_features_select;
  queue_select_ = state.queue_select;
  config_generation_ = state.config_generation;
  needs_reset_ = state.needs_reset != 0;
  if (state.activated) {
    SANDBOX_RETURN_IF_ERROR(ActivateDevice().Wrap(prefix));
    SANDBOX_RETURN_IF_ERROR(device_->RestoreState(in, prefix));
  }
  // An interrupt the guest had not acknowledged is raised again (the
  // virtio-mmio driver reads the status; a spare one costs it nothing). The
  // reactivated device may have raised one already (a frame waiting on a
  // restored NIC's TAP): its bit stays.
  interrupt_status_.fetch_or(state.interrupt_status);
  if (interrupt_status_ != 0) interrupt_.Signal();
  return Status::Ok();
}

void MmioTransport::ResetLocked() {
  if (activated_) device_->Reset();
  activated_ = false;
  needs_reset_ = false;
  for (Virtqueue& queue : queues_) queue.Reset();
  status_ = 0;
  driver_features_ = 0;
  device_features_select_ = driver_features_select_ = queue_select_ = 0;
  interrupt_status_ = 0;
}

void MmioTransport::Fail(const Status& why) {
  guest_warnings_.Error("{}: needs reset: {}", device_->name(), why.message());
  // The device keeps its state until the driver resets it; it only stops
  // receiving notifications.
  needs_reset_ = true;
  status_ |= VIRTIO_CONFIG_S_NEEDS_RESET;
  ++config_generation_;
  RaiseInterrupt(kInterruptConfig);
}

void MmioTransport::RaiseInterrupt(uint32_t reason) {
  interrupt_status_.fetch_or(reason);
  interrupt_.Signal();
}

void MmioTransport::NotifyQueue(size_t index) {
  std::lock_guard lock(device_->mutex());
  if (index >= queues_.size() || !activated_ || needs_reset_ || !queues_[index].ready) return;
  device_->ProcessQueue(index);
}

}  // namespace sandbox::vmm
