#include "common/vsock/hybrid_vsock.h"

#include "common/base/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace sandbox {
namespace {

constexpr size_t kMaxReplyLine = 32;

}  // namespace

Result<UniqueFd> ConnectHybridVsockOnce(const std::string& uds_path, uint32_t port) {
  const std::string what = "hybrid vsock " + uds_path + " port " + std::to_string(port);
  Result<UniqueFd> connected = ConnectUnix(uds_path);
  if (!connected.ok()) {
    // A bad path is the caller's error; anything else may pass (the VMM is starting).
    if (connected.status().code() == StatusCode::kInvalidArgument) return connected.status().Wrap(what);
    return Status(StatusCode::kUnavailable, what + ": " + connected.status().message());
  }
  UniqueFd fd = std::move(connected).value();
  const std::string request = "CONNECT " + std::to_string(port) + "\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    return Unavailable(what + ": the VMM closed the socket");
  }
  // Byte by byte: whatever follows the line belongs to the guest's stream.
  std::string reply;
  for (;;) {
    char byte;
    const ssize_t got = ::read(fd.get(), &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return Unavailable(what + ": refused (nothing listens in the guest yet?)");
    if (byte == '\n') break;
    reply.push_back(byte);
    if (reply.size() > kMaxReplyLine) return Internal(what + ": reply line too long");
  }
  if (!reply.starts_with("OK ")) return Internal(what + ": unexpected reply \"" + reply + "\"");
  return fd;
}

Result<UniqueFd> ConnectHybridVsock(const std::string& uds_path, uint32_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Result<UniqueFd> connection = ConnectHybridVsockOnce(uds_path, port);
    if (connection.ok() || connection.status().code() != StatusCode::kUnavailable ||
        std::chrono::steady_clock::now() >= deadline) {
      return connection;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace sandbox
