// The ttrpc wire format: a 10-byte header (big-endian uint32 length, uint32
// stream id, uint8 type, uint8 flags) followed by `length` bytes of protobuf.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/base/status.h"

namespace sandbox::ttrpc {

enum class FrameType : uint8_t { kRequest = 1, kResponse = 2, kData = 3 };

inline constexpr size_t kHeaderSize = 10;
// containerd's ttrpc limit; larger messages are refused, not buffered.
inline constexpr uint32_t kMaxMessageSize = 4 << 20;

struct Frame {
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  std::string payload;
  // Set when the header announced more than kMaxMessageSize: the payload was
  // read and dropped so the connection stays in sync.
  bool oversized = false;
  uint32_t declared_length = 0;
};

std::array<uint8_t, kHeaderSize> EncodeHeader(uint32_t length, uint32_t stream_id, uint8_t type, uint8_t flags);

// Reads one frame. A peer that closes between frames gives kUnavailable with
// "connection closed"; inside a frame, "closed mid-frame".
Result<Frame> ReadFrame(int fd);

// Writes one frame whole. Callers serialise writers of one fd.
Status WriteFrame(int fd, uint32_t stream_id, FrameType type, uint8_t flags, const std::string& payload);

}  // namespace sandbox::ttrpc
