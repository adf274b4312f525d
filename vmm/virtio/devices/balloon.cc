#include "vmm/virtio/devices/balloon.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>

namespace sandbox::vmm {

void BalloonDevice::WriteConfig(uint64_t offset, std::span<const uint8_t> data) {
  // Only `actual` is the driver's to write; the rest is the device's.
  if (offset != kActualOffset || data.size() != sizeof(config_.actual)) return;
  std::memcpy(&config_.actual, data.data(), sizeof(config_.actual));
}

void BalloonDevice::ProcessQueue(size_t index) {
  if (!active_) return;
  if (index == kReportingQueue) {
    DrainQueue(*active_, index, [this](const DescriptorChain& chain) { return Report(chain); });
  } else if (index == kInflateQueue) {
    DrainQueue(*active_, index, [this](const DescriptorChain& chain) { return Inflate(chain); });
  } else if (index == kDeflateQueue) {
    // The pages come back when the guest touches them: nothing to do.
    DrainQueue(*active_, index, [](const DescriptorChain&) { return 0u; });
  }
}

uint64_t BalloonDevice::DiscardGuestRange(uint64_t address, uint64_t length, const char* queue) {
  Result<uint64_t> discarded = active_->memory->Discard(address, length);
  if (!discarded.ok()) {
    guest_warnings_.Warn("balloon: {} {:#x}+{:#x} not discarded: {}", queue, address, length,
                         discarded.status().message());
    return 0;
  }
  return *discarded;
}

// Each buffer of the chain is one free block (the queue checked that it lies
// in guest RAM); nothing is written back.
uint32_t BalloonDevice::Report(const DescriptorChain& chain) {
  uint64_t given_back = 0;
  for (const DescriptorBuffer& buffer : chain.buffers) {
    given_back += DiscardGuestRange(buffer.address, buffer.length, "reported block");
  }
  reported_bytes_ += given_back;
  if (reports_.fetch_add(1) == 0) {
    spdlog::info("balloon: the guest's first free page report gave {} KiB back to the host", given_back >> 10);
  }
  return 0;
}

// The driver's buffers hold 32-bit page frame numbers of 4 KiB pages.
uint32_t BalloonDevice::Inflate(const DescriptorChain& chain) {
  ChainCursor reader(*active_->memory, chain, ChainCursor::Direction::kReadable);
  std::array<uint32_t, 256> pfns{};
  for (;;) {
    const size_t got = reader.CopyOut({reinterpret_cast<uint8_t*>(pfns.data()), sizeof(pfns)});
    for (size_t i = 0; i < got / sizeof(uint32_t); ++i) {
      DiscardGuestRange(uint64_t{pfns[i]} << kPfnShift, uint64_t{1} << kPfnShift, "inflated page");
    }
    if (got < sizeof(pfns)) break;
  }
  return 0;
}

void BalloonDevice::SaveState(SnapshotWriter& out, const std::string& prefix) const {
  out.AddU64(prefix + "/actual", config_.actual);
}

Status BalloonDevice::RestoreState(const SnapshotReader& in, const std::string& prefix) {
  SANDBOX_ASSIGN_OR_RETURN(uint64_t actual, in.GetU64(prefix + "/actual"));
  config_.actual = static_cast<uint32_t>(actual);
  return Status::Ok();
}

}  // namespace sandbox::vmm
