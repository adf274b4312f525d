// libFuzzer target: a compromised guest answering the host's agent calls.
// A fake agent behind a hybrid-vsock socket reads each ttrpc request of the
// real AgentClient and answers with the next piece of the input: a response
// frame carrying it as the reply payload, a frame carrying it as the ttrpc
// Response itself, or raw bytes on the stream (then the connection ends).
// The client makes the calls a monitor or the pod shim makes (Check,
// CreateContainer, Wait, ListProcesses, Stats, ExecProcess, NextOomEvent).
// Nothing may abort, leak, hang or touch memory it should not (ASan).
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/base/unix_socket.h"
#include "common/ttrpc/frame.h"
#include "shim/microvm/agent_client.h"
#include "tests/lib/fuzz_input.h"
#include "ttrpc.pb.h"

namespace {

bool ReadExactly(int fd, void* buffer, size_t size) {
  auto* bytes = static_cast<uint8_t*>(buffer);
  for (size_t done = 0; done < size;) {
    const ssize_t got = ::read(fd, bytes + done, size - done);
    if (got <= 0) return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

std::string Frame(uint32_t stream_id, const std::string& payload) {
  const auto header = sandbox::ttrpc::EncodeHeader(static_cast<uint32_t>(payload.size()), stream_id,
                                                   static_cast<uint8_t>(sandbox::ttrpc::FrameType::kResponse), 0);
  return std::string(header.begin(), header.end()) + payload;
}

// The fake agent: the hybrid-vsock handshake, then one answer per request.
void ServeOneConnection(int listener, sandbox::fuzzing::FuzzInput& input) {
  sandbox::UniqueFd connection(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!connection.valid()) return;
  std::string line;
  for (char c = 0; c != '\n';) {
    if (!ReadExactly(connection.get(), &c, 1)) return;
    line += c;
  }
  if (!sandbox::fuzzing::SendAll(connection.get(), "OK 1073741824\n")) return;
  while (!input.empty()) {
    std::array<uint8_t, sandbox::ttrpc::kHeaderSize> header;
    if (!ReadExactly(connection.get(), header.data(), header.size())) return;
    const uint32_t length = (header[0] << 24) | (header[1] << 16) | (header[2] << 8) | header[3];
    const uint32_t stream_id = (header[4] << 24) | (header[5] << 16) | (header[6] << 8) | header[7];
    std::string request(length, '\0');
    if (!ReadExactly(connection.get(), request.data(), length)) return;
    const uint8_t mode = input.Byte();
    const size_t size = input.Byte() | (static_cast<size_t>(input.Byte()) << 8);
    const std::string piece = input.Bytes(size);
    if (mode % 3 == 0) {
      sandbox::ttrpc::Response response;
      response.set_payload(piece);
      if (!sandbox::fuzzing::SendAll(connection.get(), Frame(stream_id, response.SerializeAsString()))) return;
    } else if (mode % 3 == 1) {
      if (!sandbox::fuzzing::SendAll(connection.get(), Frame(stream_id, piece))) return;
    } else {
      (void)sandbox::fuzzing::SendAll(connection.get(), piece);
      return;  // whatever the client makes of it, no further answer comes
    }
  }
}

void MakeCalls(sandbox::shim::AgentClient& agent) {
  using namespace std::chrono_literals;
  (void)agent.Check();
  (void)agent.CreateContainer({.id = "c1", .config_json = "{}", .rootfs_fstype = "dir", .stdout_port = 1026});
  (void)agent.Wait("c1");
  (void)agent.ListProcesses("c1");
  (void)agent.Stats("c1");
  (void)agent.ExecProcess("c1", "e1", R"({"args": ["true"], "cwd": "/"})", {0, 1030, 0});
  (void)agent.Wait("c1", "e1");
  (void)agent.NextOomEvent(6s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string socket_path = [] {
    char name[] = "/tmp/agent-reply-fuzz.XXXXXX";
    if (mkdtemp(name) == nullptr) std::abort();
    return std::string(name) + "/vsock";
  }();
  ::unlink(socket_path.c_str());
  auto listener = sandbox::ListenUnix(socket_path, 1);
  if (!listener.ok()) std::abort();
  sandbox::fuzzing::FuzzInput input(data, size);
  std::thread agent([&] { ServeOneConnection(listener->get(), input); });
  {
    auto client = sandbox::shim::AgentClient::Connect(socket_path, std::chrono::milliseconds(2000));
    if (client.ok()) MakeCalls(**client);
  }
  // Unblocks an accept that never came (a failed connect).
  ::shutdown(listener->get(), SHUT_RDWR);
  agent.join();
  return 0;
}
