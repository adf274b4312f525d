// libFuzzer target: a hostile guest driving a virtio-mmio device through its
// registers and its RAM. The input is a program of steps: register reads and
// writes at any offset and width (the transport's state machine, queue setup,
// the config space), writes to guest memory (descriptors, rings, request
// headers, vsock packets), queue notifications, and a shortcut that performs
// the usual driver handshake so the fuzzer reaches the devices' request
// parsing quickly. Each input gets a fresh rng, blk, vsock, net or balloon
// device (the first byte chooses). For net, a SOCK_SEQPACKET socketpair stands in for
// the TAP: the host end takes its tx frames, and a step sends it frames of
// the input's choosing, which the guest's rx buffers then receive. Nothing
// may touch memory outside the guest's RAM (ASan), abort, leak or loop
// forever.
#include <fcntl.h>
#include <sys/socket.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include <spdlog/spdlog.h>

#include "common/base/temp_dir.h"
#include "tests/lib/fuzz_input.h"
#include "vmm/event_loop.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/virtio/devices/blk.h"
#include "vmm/virtio/devices/net.h"
#include "vmm/virtio/devices/balloon.h"
#include "vmm/virtio/devices/rng.h"
#include "vmm/virtio/devices/vsock.h"
#include "vmm/virtio/mmio_transport.h"

namespace {

using namespace sandbox::vmm;
using sandbox::Status;
using sandbox::UniqueFd;

constexpr uint64_t kRamSize = 64 * 1024;

// What every input shares: guest RAM, the event loop, a scratch directory
// with the disk image and room for the vsock socket.
struct Fixture {
  // First, so it is removed (at exit) after the devices' sockets are gone.
  sandbox::TempDir scratch = sandbox::TempDir::CreateOrDie("/tmp/device-fuzz.");
  Fixture() {
    spdlog::set_level(spdlog::level::off);  // the guest's warnings, by the million
    disk = scratch.path() + "/disk.img";
    const int fd = ::open(disk.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, 64 * 1024) != 0) std::abort();
    ::close(fd);
    vsock = scratch.path() + "/vsock";
  }
  std::optional<GuestMemory> memory = GuestMemory::CreateForTest(0, kRamSize).value();
  std::unique_ptr<EventLoop> loop = EventLoop::Create().value();
  std::string disk, vsock;
};

// The host end of a net device's stand-in TAP; invalid for other devices.
struct HostNetwork {
  UniqueFd end;
};

std::shared_ptr<VirtioDevice> MakeNet(Fixture& fixture, HostNetwork& host) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) return nullptr;
  host.end = UniqueFd(pair[0]);
  auto net = NetDevice::Create(UniqueFd(pair[1]), {0x02, 0, 0, 0, 0, 1}, NetDevice::kDefaultMtu, *fixture.loop,
                               [](int, uint64_t) { return Status::Ok(); });
  return net.ok() ? *net : nullptr;
}

std::shared_ptr<VirtioDevice> MakeDevice(uint8_t choice, Fixture& fixture, HostNetwork& host) {
  switch (choice % 5) {
    case 0: return std::make_shared<RngDevice>();
    case 4: return std::make_shared<BalloonDevice>();
    case 1: {
      auto disk = BlockDevice::Open("fuzz", fixture.disk, false);
      return disk.ok() ? *disk : nullptr;
    }
    case 2: {
      auto vsock = VsockDevice::Create(3, fixture.vsock, *fixture.loop);
      return vsock.ok() ? *vsock : nullptr;
    }
    default:
      return MakeNet(fixture, host);
  }
}

void WriteRegister(MmioTransport& transport, uint64_t offset, uint32_t value) {
  transport.Write(offset, {reinterpret_cast<const uint8_t*>(&value), 4});
}

// Queue q's areas after the handshake step; request buffers go above 0xa000.
constexpr uint64_t DescriptorsOf(uint32_t queue) { return 0x1000 + queue * 0x3000; }

// The driver's side of initialisation, as Linux does it, for each queue in
// `queues` (a bit mask) with `size` entries, accepting VERSION_1 and the
// device's features 0-31 in `low_features` (net's mergeable rx buffers, TSO).
void Handshake(MmioTransport& transport, uint8_t queues, uint32_t size, uint32_t low_features = 0) {
  constexpr uint32_t kFeaturesOk = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
  WriteRegister(transport, VIRTIO_MMIO_STATUS, 0);
  WriteRegister(transport, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  WriteRegister(transport, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
  WriteRegister(transport, VIRTIO_MMIO_DRIVER_FEATURES, 1);  // VERSION_1
  WriteRegister(transport, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
  WriteRegister(transport, VIRTIO_MMIO_DRIVER_FEATURES, low_features);
  WriteRegister(transport, VIRTIO_MMIO_STATUS, kFeaturesOk);
  for (uint32_t queue = 0; queue < 3; ++queue) {
    if ((queues & (1u << queue)) == 0) continue;
    WriteRegister(transport, VIRTIO_MMIO_QUEUE_SEL, queue);
    WriteRegister(transport, VIRTIO_MMIO_QUEUE_NUM, size);
    WriteRegister(transport, VIRTIO_MMIO_QUEUE_DESC_LOW, static_cast<uint32_t>(DescriptorsOf(queue)));
    WriteRegister(transport, VIRTIO_MMIO_QUEUE_AVAIL_LOW, static_cast<uint32_t>(DescriptorsOf(queue) + 0x1000));
    WriteRegister(transport, VIRTIO_MMIO_QUEUE_USED_LOW, static_cast<uint32_t>(DescriptorsOf(queue) + 0x2000));
    WriteRegister(transport, VIRTIO_MMIO_QUEUE_READY, 1);
  }
  WriteRegister(transport, VIRTIO_MMIO_STATUS, kFeaturesOk | VIRTIO_CONFIG_S_DRIVER_OK);
}

// A frame from the host network: sent to the stand-in TAP (a full socket
// drops it, as a TAP would), then the rx queue is kicked, so the device reads
// it into the guest's buffers if it holds any.
void SendHostFrame(sandbox::fuzzing::FuzzInput& input, MmioTransport& transport, const HostNetwork& host) {
  const std::string frame = input.Bytes(input.U16() % 2048);
  if (!host.end.valid()) return;
  (void)::send(host.end.get(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  transport.NotifyQueue(0);
}

void RunStep(sandbox::fuzzing::FuzzInput& input, MmioTransport& transport, GuestMemory& memory,
             const HostNetwork& host) {
  const uint8_t op = input.Byte();
  switch (op % 7) {
    case 0:
    case 1: {  // a register access, any offset in the 4 KiB window, any width up to 8
      const uint64_t offset = input.U16() % 0x1000;
      uint8_t value[8];
      const size_t width = size_t{1} << (input.Byte() % 4);
      const uint32_t low = input.U32();
      std::memcpy(value, &low, 4);
      std::memset(value + 4, 0, 4);
      if (op % 7 == 0) {
        transport.Write(offset, {value, width});
      } else {
        transport.Read(offset, {value, width});
      }
      break;
    }
    case 2: {  // guest memory
      const uint64_t address = input.U16() % kRamSize;
      const std::string bytes = input.Bytes(std::min<size_t>(input.Byte(), kRamSize - address));
      auto ram = memory.Translate(address, bytes.size());
      if (ram.ok() && !bytes.empty()) std::memcpy(ram->data(), bytes.data(), bytes.size());
      break;
    }
    case 3:
      transport.NotifyQueue(input.Byte() % 4);
      break;
    case 4:
      Handshake(transport, input.Byte(), input.Byte() % 65);
      break;
    case 5: {
      const uint8_t queues = input.Byte();
      const uint32_t size = input.Byte() % 65;
      Handshake(transport, queues, size, input.U32());
      break;
    }
    default:
      SendHostFrame(input, transport, host);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  sandbox::fuzzing::FuzzInput input(data, size);
  auto ram = fixture.memory->Translate(0, kRamSize).value();
  std::memset(ram.data(), 0, ram.size());
  HostNetwork host;
  std::shared_ptr<VirtioDevice> device = MakeDevice(input.Byte(), fixture, host);
  if (device == nullptr) std::abort();  // the fixture is broken, not the device
  {
    auto transport = MmioTransport::Create(device, *fixture.memory, *fixture.loop, 0xd0000000, 5);
    if (!transport.ok()) std::abort();
    for (int steps = 0; steps < 256 && !input.empty(); ++steps) RunStep(input, **transport, *fixture.memory, host);
  }
  return 0;
}
