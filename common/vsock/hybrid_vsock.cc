#include "common/vsock/hybrid_vsock.h"

#include "common/base/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace sandbox {
namespace {

constexpr size_t kMaxReplyLine = 32;
// An attempt's wait for the guest's answer, even when the caller's timeout
// is nearly spent: a slow (nested, emulated) guest still gets to answer.
constexpr std::chrono::milliseconds kMinReplyWait{1000};
// Between attempts: a guest that refused costs the guest a packet exchange
// per attempt, so those are spaced out; a socket the VMM has not made yet
// (it is restoring a template, a guest that listens already) costs a stat.
constexpr std::chrono::milliseconds kRetryAfterRefusal{50};
constexpr std::chrono::milliseconds kRetryForSocket{5};

// Waits until `fd` is readable or `deadline` passes.
bool ReadableBy(int fd, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd readable{fd, POLLIN, 0};
    const int ready = ::poll(&readable, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

}  // namespace

Result<UniqueFd> ConnectHybridVsockOnce(const std::string& uds_path, uint32_t port,
                                        std::chrono::milliseconds reply_timeout) {
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
  const auto reply_deadline = std::chrono::steady_clock::now() + reply_timeout;
  std::string reply;
  for (;;) {
    if (!ReadableBy(fd.get(), reply_deadline)) {
      return Unavailable(what + ": no answer from the guest within " + std::to_string(reply_timeout.count()) + " ms");
    }
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

Result<UniqueFd> ConnectHybridVsock(const std::string& uds_path, uint32_t port, std::chrono::milliseconds timeout,
                                    const std::function<bool()>& vmm_gone) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    Result<UniqueFd> connection = ConnectHybridVsockOnce(uds_path, port, std::max(left, kMinReplyWait));
    if (connection.ok() || connection.status().code() != StatusCode::kUnavailable ||
        std::chrono::steady_clock::now() >= deadline) {
      return connection;
    }
    if (vmm_gone && vmm_gone()) return connection.status().Wrap("the VMM has exited");
    struct stat socket_file {};
    std::this_thread::sleep_for(::stat(uds_path.c_str(), &socket_file) == 0 ? kRetryAfterRefusal : kRetryForSocket);
  }
}

}  // namespace sandbox
