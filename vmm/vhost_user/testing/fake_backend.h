// A vhost-user back-end for unit tests only: it answers the front-end's
// requests on one end of a socketpair, records each request with its
// payload and fds, maps the memory table it is given (so a test can check
// that ring addresses land on the guest's bytes), and can be told to refuse
// or to hang up at a given request.
#pragma once

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/base/unique_fd.h"
#include "vmm/vhost_user/frontend.h"

namespace sandbox::vmm::testing {

// One front-end message from `fd`: its header, the fds passed with it and its
// payload. False at EOF or on a short read.
inline bool ReceiveVhostUserMessage(int fd, vhost_user::Header& header, std::vector<UniqueFd>& fds,
                                    std::vector<uint8_t>& payload) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vhost_user::kMaxMemoryRegions)] = {};
  iovec io{&header, sizeof(header)};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  if (::recvmsg(fd, &message, MSG_CMSG_CLOEXEC | MSG_WAITALL) != sizeof(header)) return false;
  for (cmsghdr* part = CMSG_FIRSTHDR(&message); part != nullptr; part = CMSG_NXTHDR(&message, part)) {
    const size_t count = (part->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(part) + i * sizeof(int), sizeof(int));
      fds.emplace_back(passed);
    }
  }
  payload.resize(header.size);
  return header.size == 0 || ::recv(fd, payload.data(), header.size, MSG_WAITALL) == static_cast<ssize_t>(header.size);
}

class FakeVhostUserBackend {
 public:
  struct Message {
    uint32_t request = 0;
    uint32_t flags = 0;
    std::vector<uint8_t> payload;
    std::vector<UniqueFd> fds;
  };
  struct Options {
    uint64_t features = (1ull << 32) | (1ull << 28) | (1ull << 29) | vhost_user::kFeatureProtocolFeatures;
    uint64_t protocol_features = vhost_user::kProtocolFeatureReplyAck | 1;  // REPLY_ACK, MQ
    std::optional<uint32_t> refuse;   // acknowledged with a non-zero status
    std::optional<uint32_t> hang_up;  // the connection closes on this request
  };

  explicit FakeVhostUserBackend(Options options) : options_(options) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0) {
      frontend_end_.Reset(pair[0]);
      backend_end_.Reset(pair[1]);
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeVhostUserBackend() {
    ::shutdown(backend_end_.get(), SHUT_RDWR);
    thread_.join();
    for (auto& [address, size] : mappings_) ::munmap(address, size);
  }

  UniqueFd TakeFrontendEnd() { return std::move(frontend_end_); }
  // Closes the back-end's end, as a dying virtiofsd would.
  void HangUp() { ::shutdown(backend_end_.get(), SHUT_RDWR); }

  std::vector<uint32_t> Requests() {
    std::lock_guard lock(mutex_);
    std::vector<uint32_t> requests;
    for (const Message& message : messages_) requests.push_back(message.request);
    return requests;
  }
  // The last message of kind `request`, if any (moved out).
  std::optional<Message> Take(uint32_t request) {
    std::lock_guard lock(mutex_);
    for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
      if (it->request == request) return std::move(*it);
    }
    return std::nullopt;
  }
  // Bytes at a front-end virtual address, through the mapped memory table.
  std::optional<std::vector<uint8_t>> ReadFrontendAddress(uint64_t address, size_t length) {
    std::lock_guard lock(mutex_);
    for (const Region& region : regions_) {
      if (address >= region.user_address && address + length <= region.user_address + region.size) {
        const uint8_t* start = region.host + (address - region.user_address);
        return std::vector<uint8_t>(start, start + length);
      }
    }
    return std::nullopt;
  }

 private:
  struct Region {
    uint64_t user_address;
    uint64_t size;
    uint8_t* host;
  };

  void Serve() {
    for (;;) {
      Message message;
      vhost_user::Header header;
      if (!ReceiveVhostUserMessage(backend_end_.get(), header, message.fds, message.payload)) return;
      message.request = header.request;
      message.flags = header.flags;
      if (options_.hang_up == header.request) {
        HangUp();
        return;
      }
      if (header.request == vhost_user::kSetMemTable) MapTable(message);
      const uint32_t request = header.request;
      const bool need_reply = header.flags & vhost_user::kFlagNeedReply;
      std::vector<uint8_t> payload = message.payload;
      {
        std::lock_guard lock(mutex_);
        messages_.push_back(std::move(message));
      }
      switch (request) {
        case vhost_user::kGetFeatures: Reply(request, options_.features); break;
        case vhost_user::kGetProtocolFeatures: Reply(request, options_.protocol_features); break;
        case vhost_user::kGetVringBase: {
          vhost_user::VringState state;
          std::memcpy(&state, payload.data(), sizeof(state));
          state.num = 7;  // where the back-end stopped
          Reply(request, state);
          break;
        }
        default:
          if (need_reply) Reply(request, uint64_t{options_.refuse == request ? 1u : 0u});
      }
    }
  }

  template <class T>
  void Reply(uint32_t request, const T& value) {
    uint8_t buffer[sizeof(vhost_user::Header) + sizeof(T)];
    const vhost_user::Header header{.request = request, .flags = vhost_user::kVersion | vhost_user::kFlagReply,
                                    .size = sizeof(T)};
    std::memcpy(buffer, &header, sizeof(header));
    std::memcpy(buffer + sizeof(header), &value, sizeof(T));
    (void)!::send(backend_end_.get(), buffer, sizeof(buffer), MSG_NOSIGNAL);
  }

  // As libvhost-user does: map each fd from 0 and use mmap_offset into it.
  void MapTable(const Message& message) {
    vhost_user::MemoryTable table;
    std::memcpy(&table, message.payload.data(), std::min(message.payload.size(), sizeof(table)));
    std::lock_guard lock(mutex_);
    for (uint32_t i = 0; i < table.region_count && i < message.fds.size(); ++i) {
      const vhost_user::MemoryRegion& region = table.regions[i];
      const size_t length = region.size + region.mmap_offset;
      void* mapped = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, message.fds[i].get(), 0);
      if (mapped == MAP_FAILED) continue;
      mappings_.emplace_back(mapped, length);
      regions_.push_back({region.user_address, region.size, static_cast<uint8_t*>(mapped) + region.mmap_offset});
    }
  }

  Options options_;
  UniqueFd frontend_end_;
  UniqueFd backend_end_;
  std::mutex mutex_;
  std::vector<Message> messages_;
  std::vector<Region> regions_;
  std::vector<std::pair<void*, size_t>> mappings_;
  std::thread thread_;
};

}  // namespace sandbox::vmm::testing
