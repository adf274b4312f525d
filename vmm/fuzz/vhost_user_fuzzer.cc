// libFuzzer target: a hostile vhost-user back-end (virtiofsd runs outside the
// VMM's trust, and a guest that owns it owns its replies). A fake back-end
// reads each request of the real VhostUserFrontend and, where the front-end
// waits for an answer (GET_* requests, and any with NEED_REPLY), answers with
// the next piece of the input: a reply whose header echoes the request with
// the input as payload, or raw bytes before hanging up. The front-end runs a
// device's whole life: session setup, features, memory table, one ring
// started and stopped. Nothing may abort, leak, hang or read past a buffer.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "common/base/unique_fd.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/vhost_user/frontend.h"

namespace {

using namespace sandbox::vmm;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return used_ >= size_; }
  uint8_t Byte() { return used_ < size_ ? data_[used_++] : 0; }
  std::string Bytes(size_t wanted) {
    const size_t count = std::min(wanted, size_ - std::min(used_, size_));
    std::string bytes(reinterpret_cast<const char*>(data_) + used_, count);
    used_ += count;
    return bytes;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t used_ = 0;
};

bool WriteAll(int fd, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t wrote = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (wrote <= 0) return false;
    done += static_cast<size_t>(wrote);
  }
  return true;
}

// Reads one request (header, payload, and any fds, which are closed).
bool ReadRequest(int fd, vhost_user::Header& header) {
  char control[CMSG_SPACE(sizeof(int) * 8)];
  iovec vector{&header, sizeof(header)};
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  if (::recvmsg(fd, &message, MSG_CMSG_CLOEXEC) != static_cast<ssize_t>(sizeof(header))) return false;
  for (cmsghdr* item = CMSG_FIRSTHDR(&message); item != nullptr; item = CMSG_NXTHDR(&message, item)) {
    if (item->cmsg_level != SOL_SOCKET || item->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (item->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(item) + i * sizeof(int), sizeof(int));
      ::close(passed);
    }
  }
  std::string payload(header.size, '\0');
  for (size_t done = 0; done < payload.size();) {
    const ssize_t got = ::read(fd, payload.data() + done, payload.size() - done);
    if (got <= 0) return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

bool ExpectsAnswer(const vhost_user::Header& header) {
  return header.request == vhost_user::kGetFeatures || header.request == vhost_user::kGetProtocolFeatures ||
         header.request == vhost_user::kGetVringBase || (header.flags & vhost_user::kFlagNeedReply) != 0;
}

void ServeBackend(sandbox::UniqueFd socket, Input& input) {
  vhost_user::Header header;
  while (!input.empty() && ReadRequest(socket.get(), header)) {
    if (!ExpectsAnswer(header)) continue;
    const uint8_t mode = input.Byte();
    const std::string piece = input.Bytes(input.Byte() % 48);
    if (mode % 2 == 0) {
      vhost_user::Header reply{.request = header.request, .flags = vhost_user::kVersion | vhost_user::kFlagReply,
                               .size = static_cast<uint32_t>(piece.size())};
      // Sometimes a lie about what is answered, or how much follows.
      if (mode & 2) reply.request = input.Byte();
      if (mode & 4) reply.size = input.Byte();
      if (mode & 8) reply.flags = input.Byte();
      std::string bytes(reinterpret_cast<const char*>(&reply), sizeof(reply));
      if (!WriteAll(socket.get(), bytes + piece)) return;
      // A size that may promise more than follows: hang up rather than leave
      // the front-end waiting out its receive timeout.
      if (mode & 4) return;
    } else {
      (void)WriteAll(socket.get(), piece);
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory memory = GuestMemory::Create(16 << 20).value();
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) std::abort();
  // A back-end that stops answering is cut off by the front-end's receive
  // timeout (10 s); here the fake hangs up instead, so inputs stay fast.
  Input input(data, size);
  std::thread backend([&input, fd = ends[1]] { ServeBackend(sandbox::UniqueFd(fd), input); });
  {
    auto frontend = VhostUserFrontend::Start(sandbox::UniqueFd(ends[0]), "fuzz");
    if (frontend.ok() && frontend->SetFeatures(frontend->backend_features()).ok() &&
        frontend->SetMemoryTable(memory).ok()) {
      const VringLayout layout{.size = 16, .descriptor_table = 0x1000, .available_ring = 0x2000, .used_ring = 0x3000};
      if (frontend->StartVring(memory, 0, layout, STDIN_FILENO, STDIN_FILENO).ok()) (void)frontend->StopVring(0);
    }
  }
  backend.join();
  return 0;
}
