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
#include <vector>

#include "common/base/unique_fd.h"
#include "tests/lib/fuzz_input.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/vhost_user/frontend.h"
#include "vmm/vhost_user/testing/fake_backend.h"

namespace {

using namespace sandbox::vmm;

bool ExpectsAnswer(const vhost_user::Header& header) {
  return header.request == vhost_user::kGetFeatures || header.request == vhost_user::kGetProtocolFeatures ||
         header.request == vhost_user::kGetVringBase || (header.flags & vhost_user::kFlagNeedReply) != 0;
}

void ServeBackend(sandbox::UniqueFd socket, sandbox::fuzzing::FuzzInput& input) {
  vhost_user::Header header;
  std::vector<sandbox::UniqueFd> fds;  // the memory table's and the rings' eventfds, closed as they come
  std::vector<uint8_t> payload;
  while (!input.empty() && testing::ReceiveVhostUserMessage(socket.get(), header, fds, payload)) {
    fds.clear();
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
      if (!sandbox::fuzzing::SendAll(socket.get(), bytes + piece)) return;
      // A size that may promise more than follows: hang up rather than leave
      // the front-end waiting out its receive timeout.
      if (mode & 4) return;
    } else {
      (void)sandbox::fuzzing::SendAll(socket.get(), piece);
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
  sandbox::fuzzing::FuzzInput input(data, size);
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
