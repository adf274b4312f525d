#include "common/ttrpc/frame.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace sandbox::ttrpc {
namespace {

// Reads exactly `size` bytes; returns how many arrived before EOF.
Result<size_t> ReadFull(int fd, void* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, static_cast<char*>(data) + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", "ttrpc connection");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

uint32_t LoadBigEndian32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
}

void StoreBigEndian32(uint8_t* bytes, uint32_t value) {
  bytes[0] = static_cast<uint8_t>(value >> 24);
  bytes[1] = static_cast<uint8_t>(value >> 16);
  bytes[2] = static_cast<uint8_t>(value >> 8);
  bytes[3] = static_cast<uint8_t>(value);
}

}  // namespace

std::array<uint8_t, kHeaderSize> EncodeHeader(uint32_t length, uint32_t stream_id, uint8_t type, uint8_t flags) {
  std::array<uint8_t, kHeaderSize> header{};
  StoreBigEndian32(header.data(), length);
  StoreBigEndian32(header.data() + 4, stream_id);
  header[8] = type;
  header[9] = flags;
  return header;
}

Result<Frame> ReadFrame(int fd) {
  uint8_t header[kHeaderSize];
  SANDBOX_ASSIGN_OR_RETURN(size_t got, ReadFull(fd, header, sizeof(header)));
  if (got == 0) return Unavailable("ttrpc: connection closed");
  if (got < sizeof(header)) return Unavailable("ttrpc: connection closed mid-frame");
  Frame frame;
  frame.declared_length = LoadBigEndian32(header);
  frame.stream_id = LoadBigEndian32(header + 4);
  frame.type = header[8];
  frame.flags = header[9];
  if (frame.declared_length > kMaxMessageSize) {
    frame.oversized = true;
    char sink[16384];
    size_t left = frame.declared_length;
    while (left > 0) {
      SANDBOX_ASSIGN_OR_RETURN(size_t n, ReadFull(fd, sink, std::min(left, sizeof(sink))));
      if (n == 0) return Unavailable("ttrpc: connection closed mid-frame");
      left -= n;
    }
    return frame;
  }
  frame.payload.resize(frame.declared_length);
  SANDBOX_ASSIGN_OR_RETURN(size_t body, ReadFull(fd, frame.payload.data(), frame.payload.size()));
  if (body < frame.payload.size()) return Unavailable("ttrpc: connection closed mid-frame");
  return frame;
}

Status WriteFrame(int fd, uint32_t stream_id, FrameType type, uint8_t flags, const std::string& payload) {
  if (payload.size() > kMaxMessageSize) {
    return InvalidArgument("ttrpc: message of " + std::to_string(payload.size()) + " bytes exceeds the " +
                           std::to_string(kMaxMessageSize) + "-byte limit");
  }
  auto header = EncodeHeader(static_cast<uint32_t>(payload.size()), stream_id, static_cast<uint8_t>(type), flags);
  struct iovec parts[2] = {{header.data(), header.size()}, {const_cast<char*>(payload.data()), payload.size()}};
  size_t total = header.size() + payload.size();
  size_t sent = 0;
  while (sent < total) {
    // Skip what was already written.
    struct iovec rest[2];
    int count = 0;
    size_t skip = sent;
    for (auto& part : parts) {
      if (skip >= part.iov_len) {
        skip -= part.iov_len;
        continue;
      }
      rest[count++] = {static_cast<char*>(part.iov_base) + skip, part.iov_len - skip};
      skip = 0;
    }
    struct msghdr message = {};
    message.msg_iov = rest;
    message.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::writev(fd, rest, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", "ttrpc connection");
    }
    sent += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace sandbox::ttrpc
