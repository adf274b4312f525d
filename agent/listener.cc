#include "agent/listener.h"

#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "common/base/unix_socket.h"
#include "common/vsock/hybrid_vsock.h"

namespace sandbox::agent {
namespace {

// How long a hybrid connect keeps retrying while the guest boots.
constexpr std::chrono::seconds kHybridConnectTimeout{120};

Result<uint32_t> ParseNumber(const std::string& text, const std::string& address) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument("address \"" + address + "\": \"" + text + "\" is not a number");
  }
  return value;
}

}  // namespace

Result<UniqueFd> Listen(const std::string& address) {
  if (address.starts_with("vsock:")) {
    SANDBOX_ASSIGN_OR_RETURN(uint32_t port, ParseNumber(address.substr(6), address));
    UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return ErrnoStatus("socket", "AF_VSOCK");
    sockaddr_vm bind_address = {};
    bind_address.svm_family = AF_VSOCK;
    bind_address.svm_cid = VMADDR_CID_ANY;
    bind_address.svm_port = port;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&bind_address), sizeof(bind_address)) != 0) {
      return ErrnoStatus("bind", address);
    }
    if (::listen(fd.get(), 16) != 0) return ErrnoStatus("listen", address);
    return fd;
  }
  if (address.starts_with("unix:")) {
    const std::string path = address.substr(5);
    ::unlink(path.c_str());
    return ListenUnix(path, 16);
  }
  return InvalidArgument("listen address \"" + address + "\": want vsock:PORT or unix:PATH");
}

Result<UniqueFd> Accept(int listener) {
  for (;;) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != EINTR && errno != ECONNABORTED) return ErrnoStatus("accept", "agent listener");
  }
}

Result<UniqueFd> Connect(const std::string& address) {
  if (address.starts_with("vsock:")) {
    std::string rest = address.substr(6);
    size_t colon = rest.find(':');
    if (colon == std::string::npos) return InvalidArgument("address \"" + address + "\": want vsock:CID:PORT");
    SANDBOX_ASSIGN_OR_RETURN(uint32_t cid, ParseNumber(rest.substr(0, colon), address));
    SANDBOX_ASSIGN_OR_RETURN(uint32_t port, ParseNumber(rest.substr(colon + 1), address));
    UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return ErrnoStatus("socket", "AF_VSOCK");
    sockaddr_vm peer = {};
    peer.svm_family = AF_VSOCK;
    peer.svm_cid = cid;
    peer.svm_port = port;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&peer), sizeof(peer)) != 0) return ErrnoStatus("connect", address);
    return fd;
  }
  if (address.starts_with("hybrid:")) {
    // sandbox-vmm's Unix socket, then the guest port (the path may hold colons).
    const size_t colon = address.rfind(':');
    if (colon <= 7) return InvalidArgument("address \"" + address + "\": want hybrid:PATH:PORT");
    SANDBOX_ASSIGN_OR_RETURN(uint32_t port, ParseNumber(address.substr(colon + 1), address));
    return ConnectHybridVsock(address.substr(7, colon - 7), port, kHybridConnectTimeout);
  }
  if (address.starts_with("unix:")) {
    return ConnectUnix(address.substr(5));
  }
  return InvalidArgument("address \"" + address + "\": want vsock:CID:PORT, hybrid:PATH:PORT or unix:PATH");
}

}  // namespace sandbox::agent
