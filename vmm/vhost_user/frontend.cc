#include "vmm/vhost_user/frontend.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <vector>

#include "common/base/fd_passing.h"
#include "common/base/unix_socket.h"

namespace sandbox::vmm {

using namespace vhost_user;

namespace {

const char* RequestName(uint32_t request) {
  switch (request) {
    case kGetFeatures: return "GET_FEATURES";
    case kSetFeatures: return "SET_FEATURES";
    case kSetOwner: return "SET_OWNER";
    case kSetMemTable: return "SET_MEM_TABLE";
    case kSetVringNum: return "SET_VRING_NUM";
    case kSetVringAddr: return "SET_VRING_ADDR";
    case kSetVringBase: return "SET_VRING_BASE";
    case kGetVringBase: return "GET_VRING_BASE";
    case kSetVringKick: return "SET_VRING_KICK";
    case kSetVringCall: return "SET_VRING_CALL";
    case kGetProtocolFeatures: return "GET_PROTOCOL_FEATURES";
    case kSetProtocolFeatures: return "SET_PROTOCOL_FEATURES";
    case kSetVringEnable: return "SET_VRING_ENABLE";
    default: return "request";
  }
}

// Reads exactly `size` bytes; EOF, an error and the timeout are failures.
Status ReadExactly(int socket, void* data, size_t size) {
  auto* out = static_cast<uint8_t*>(data);
  while (size > 0) {
    const ssize_t got = ::recv(socket, out, size, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) return Unavailable("the back-end closed the connection");
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Unavailable("no answer in time");
    if (got < 0) return ErrnoStatus("recv", "the vhost-user socket");
    out += got;
    size -= static_cast<size_t>(got);
  }
  return Status::Ok();
}

}  // namespace

Result<VhostUserFrontend> VhostUserFrontend::Connect(const std::string& socket_path) {
  Result<UniqueFd> socket = ConnectUnix(socket_path);
  if (!socket.ok()) return socket.status().Wrap("vhost-user back-end " + socket_path);
  return Start(std::move(socket).value(), socket_path);
}

Result<VhostUserFrontend> VhostUserFrontend::Start(UniqueFd socket, std::string name) {
  timeval timeout{.tv_sec = kReplyTimeout.count(), .tv_usec = 0};
  if (::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0) {
    return ErrnoStatus("setsockopt(SO_RCVTIMEO)", name);
  }
  VhostUserFrontend frontend(std::move(socket), std::move(name));
  SANDBOX_ASSIGN_OR_RETURN(frontend.backend_features_, frontend.GetU64(kGetFeatures));
  if (frontend.backend_features_ & kFeatureProtocolFeatures) {
    SANDBOX_ASSIGN_OR_RETURN(uint64_t protocol, frontend.GetU64(kGetProtocolFeatures));
    const uint64_t wanted = protocol & kProtocolFeatureReplyAck;
    SANDBOX_RETURN_IF_ERROR(frontend.SetU64(kSetProtocolFeatures, wanted));
    frontend.reply_ack_ = wanted & kProtocolFeatureReplyAck;
  }
  SANDBOX_RETURN_IF_ERROR(frontend.Send(kSetOwner, nullptr, 0));
  return frontend;
}

Status VhostUserFrontend::Error(uint32_t request, const std::string& what) const {
  return Unavailable(fmt::format("vhost-user back-end {}: {}: {}", name_, RequestName(request), what));
}

Status VhostUserFrontend::Send(uint32_t request, const void* payload, uint32_t size, std::span<const int> fds,
                               bool expect_answer) {
  const bool ack = reply_ack_ && !expect_answer;
  std::vector<uint8_t> message(sizeof(Header) + size);
  const Header header{.request = request, .flags = kVersion | (ack ? kFlagNeedReply : 0u), .size = size};
  std::memcpy(message.data(), &header, sizeof(header));
  if (size > 0) std::memcpy(message.data() + sizeof(header), payload, size);
  const Status sent = SendWithFds(socket_.get(), message.data(), message.size(), fds);
  if (!sent.ok()) return Error(request, sent.message());
  if (!ack) return Status::Ok();
  uint64_t result = 0;
  SANDBOX_RETURN_IF_ERROR(Receive(request, &result, sizeof(result)));
  if (result != 0) return Error(request, fmt::format("refused (status {})", result));
  return Status::Ok();
}

Status VhostUserFrontend::Receive(uint32_t request, void* payload, uint32_t size) {
  Header header;
  Status read = ReadExactly(socket_.get(), &header, sizeof(header));
  if (!read.ok()) return Error(request, read.message());
  if (header.request != request || (header.flags & kFlagReply) == 0 || (header.flags & 0x3) != kVersion) {
    return Error(request, fmt::format("unexpected answer (request {}, flags {:#x})", header.request, header.flags));
  }
  if (header.size != size) return Error(request, fmt::format("answer of {} bytes, want {}", header.size, size));
  read = ReadExactly(socket_.get(), payload, size);
  if (!read.ok()) return Error(request, read.message());
  return Status::Ok();
}

Result<uint64_t> VhostUserFrontend::GetU64(uint32_t request) {
  SANDBOX_RETURN_IF_ERROR(Send(request, nullptr, 0, {}, /*expect_answer=*/true));
  uint64_t value = 0;
  SANDBOX_RETURN_IF_ERROR(Receive(request, &value, sizeof(value)));
  return value;
}

Status VhostUserFrontend::SetU64(uint32_t request, uint64_t value) { return Send(request, &value, sizeof(value)); }

Status VhostUserFrontend::SetVringState(uint32_t request, uint32_t index, uint32_t num) {
  const VringState state{.index = index, .num = num};
  return Send(request, &state, sizeof(state));
}

Status VhostUserFrontend::SetVringFd(uint32_t request, uint32_t index, int fd) {
  const uint64_t value = index;  // bit 8 (no fd) clear: the fd travels with it
  const int fds[] = {fd};
  return Send(request, &value, sizeof(value), fds);
}

Status VhostUserFrontend::SetFeatures(uint64_t features) {
  const uint64_t protocol = backend_features_ & kFeatureProtocolFeatures;
  return SetU64(kSetFeatures, features | protocol);
}

Status VhostUserFrontend::SetMemoryTable(const GuestMemory& memory) {
  // Not regions(): RAM mapped copy-on-write from a template (the guest
  // kernel's text) is not in the memfd the back-end maps.
  const std::vector<vmm::MemoryRegion>& regions = memory.backend_regions();
  if (regions.size() > kMaxMemoryRegions) {
    return Error(kSetMemTable, fmt::format("{} memory regions, at most {}", regions.size(), kMaxMemoryRegions));
  }
  MemoryTable table;
  std::vector<int> fds;
  for (const vmm::MemoryRegion& region : regions) {
    table.regions[table.region_count++] = {.guest_address = region.guest_address,
                                           .size = region.size,
                                           .user_address = reinterpret_cast<uint64_t>(region.host),
                                           .mmap_offset = region.memfd_offset};
    fds.push_back(memory.memfd());
  }
  const auto size = static_cast<uint32_t>(offsetof(MemoryTable, regions) + table.region_count * sizeof(vhost_user::MemoryRegion));
  return Send(kSetMemTable, &table, size, fds);
}

Status VhostUserFrontend::StartVring(const GuestMemory& memory, uint32_t index, const VringLayout& layout, int kick_fd,
                                     int call_fd) {
  // The back-end maps the same memfd; it wants our virtual addresses, which
  // Translate also checks against guest RAM.
  auto host_address = [&](uint64_t guest, uint64_t length) -> Result<uint64_t> {
    SANDBOX_RETURN_IF_ERROR(memory.Translate(guest, length).status());
    Result<std::span<uint8_t>> view = memory.TranslateForBackend(guest, length);
    if (!view.ok()) {
      return InvalidArgument(fmt::format("vring at {:#x}+{:#x} lies in RAM the back-end does not map", guest, length));
    }
    return reinterpret_cast<uint64_t>(view->data());
  };
  const uint64_t size = layout.size;
  SANDBOX_ASSIGN_OR_RETURN(uint64_t descriptor, host_address(layout.descriptor_table, 16 * size));
  SANDBOX_ASSIGN_OR_RETURN(uint64_t available, host_address(layout.available_ring, 6 + 2 * size));
  SANDBOX_ASSIGN_OR_RETURN(uint64_t used, host_address(layout.used_ring, 6 + 8 * size));
  SANDBOX_RETURN_IF_ERROR(SetVringState(kSetVringNum, index, layout.size));
  SANDBOX_RETURN_IF_ERROR(SetVringState(kSetVringBase, index, 0));
  const VringAddress address{.index = index, .flags = 0, .descriptor = descriptor, .used = used,
                             .available = available, .log = 0};
  SANDBOX_RETURN_IF_ERROR(Send(kSetVringAddr, &address, sizeof(address)));
  SANDBOX_RETURN_IF_ERROR(SetVringFd(kSetVringKick, index, kick_fd));
  SANDBOX_RETURN_IF_ERROR(SetVringFd(kSetVringCall, index, call_fd));
  // Without protocol features the ring is enabled by its kick fd already.
  if (backend_features_ & kFeatureProtocolFeatures) SANDBOX_RETURN_IF_ERROR(SetVringState(kSetVringEnable, index, 1));
  return Status::Ok();
}

Result<uint32_t> VhostUserFrontend::StopVring(uint32_t index) {
  const VringState state{.index = index, .num = 0};
  SANDBOX_RETURN_IF_ERROR(Send(kGetVringBase, &state, sizeof(state), {}, /*expect_answer=*/true));
  VringState answer;
  SANDBOX_RETURN_IF_ERROR(Receive(kGetVringBase, &answer, sizeof(answer)));
  if (answer.index != index) return Error(kGetVringBase, fmt::format("answer for ring {}, want {}", answer.index, index));
  return answer.num;
}

}  // namespace sandbox::vmm
