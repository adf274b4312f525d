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

#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/base/temp_dir.h"
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
  using sandbox::ttrpc::FrameType;
  while (!input.empty()) {
    const sandbox::Result<sandbox::ttrpc::Frame> request = sandbox::ttrpc::ReadFrame(connection.get());
    if (!request.ok()) return;
    const uint8_t mode = input.Byte();
    const size_t size = input.Byte() | (static_cast<size_t>(input.Byte()) << 8);
    const std::string piece = input.Bytes(size);
    if (mode % 3 == 0) {
      sandbox::ttrpc::Response response;
      response.set_payload(piece);
      const std::string encoded = response.SerializeAsString();
      if (!sandbox::ttrpc::WriteFrame(connection.get(), request->stream_id, FrameType::kResponse, 0, encoded).ok()) {
        return;
      }
    } else if (mode % 3 == 1) {
      if (!sandbox::ttrpc::WriteFrame(connection.get(), request->stream_id, FrameType::kResponse, 0, piece).ok()) return;
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
  // The socket's directory is removed when the fuzzer exits.
  static const sandbox::TempDir scratch = sandbox::TempDir::CreateOrDie("/tmp/agent-reply-fuzz.");
  static const std::string socket_path = scratch.path() + "/vsock";
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
