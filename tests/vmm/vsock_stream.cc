// vsock_stream: both ends of the vsock data tests of sandbox-vmm.
//   guest:  vsock_stream echo PORT          serve one connection: echo until EOF
//           vsock_stream send CID PORT N    connect and send N pattern bytes
//           vsock_stream flood CID PORT S   connect again and again for S seconds
//                                           (to a port nobody serves: each is reset)
//   host:   vsock_stream host-echo UDS PORT N   send N bytes through the hybrid
//                                               socket while reading the echo back
//           vsock_stream host-receive PATH N    accept one connection on PATH and
//                                               expect N pattern bytes
// The pattern depends on the byte's position, so loss, duplication and
// reordering all show. Exit 0 only when every byte matched.
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/base/unix_socket.h"
#include "common/vsock/hybrid_vsock.h"

namespace {

uint8_t PatternByte(uint64_t position) { return static_cast<uint8_t>(position * 7 + position / 4093); }

int Die(const char* what) {
  std::fprintf(stderr, "vsock_stream: %s: %s\n", what, std::strerror(errno));
  return 1;
}

bool SendPattern(int fd, uint64_t total) {
  std::vector<uint8_t> buffer(64 * 1024);
  for (uint64_t sent = 0; sent < total;) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(buffer.size(), total - sent));
    for (size_t i = 0; i < chunk; ++i) buffer[i] = PatternByte(sent + i);
    size_t done = 0;
    while (done < chunk) {
      const ssize_t n = ::send(fd, buffer.data() + done, chunk - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    sent += chunk;
  }
  return ::shutdown(fd, SHUT_WR) == 0;
}

// Reads until EOF; returns the byte count or -1 on the first mismatch.
int64_t ReceivePattern(int fd) {
  std::vector<uint8_t> buffer(64 * 1024);
  uint64_t received = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return static_cast<int64_t>(received);
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] != PatternByte(received + i)) {
        std::fprintf(stderr, "vsock_stream: byte %llu differs\n", static_cast<unsigned long long>(received + i));
        return -1;
      }
    }
    received += static_cast<uint64_t>(n);
  }
}

int Echo(uint32_t port) {
  int listener = ::socket(AF_VSOCK, SOCK_STREAM, 0);
  sockaddr_vm address{};
  address.svm_family = AF_VSOCK;
  address.svm_cid = VMADDR_CID_ANY;
  address.svm_port = port;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listener, 1) != 0) {
    return Die("listen");
  }
  std::printf("vsock_stream: echo listening on %u\n", port);
  std::fflush(stdout);
  int fd = ::accept(listener, nullptr, nullptr);
  if (fd < 0) return Die("accept");
  std::vector<uint8_t> buffer(64 * 1024);
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Die("read");
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(fd, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return Die("write");
      done += w;
    }
    total += static_cast<uint64_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::printf("vsock_stream: echoed %llu bytes\n", static_cast<unsigned long long>(total));
  return 0;
}

int Send(uint32_t cid, uint32_t port, uint64_t total) {
  int fd = ::socket(AF_VSOCK, SOCK_STREAM, 0);
  sockaddr_vm address{};
  address.svm_family = AF_VSOCK;
  address.svm_cid = cid;
  address.svm_port = port;
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return Die("connect");
  if (!SendPattern(fd, total)) return Die("send");
  char byte;
  while (::read(fd, &byte, 1) > 0) {
  }
  std::printf("vsock_stream: sent %llu bytes\n", static_cast<unsigned long long>(total));
  return 0;
}

// A hostile guest's connection storm: every connection is refused (the host
// has no listener), so each costs the VMM a connect attempt and a reset.
// Only a reset or refusal counts as refused: any other failure (a timeout,
// no route) means the attempt may never have reached the VMM.
int Flood(uint32_t cid, uint32_t port, uint64_t seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  uint64_t attempts = 0, refused = 0, other_errors = 0;
  while (std::chrono::steady_clock::now() < end) {
    const int fd = ::socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) return Die("socket");
    sockaddr_vm address{};
    address.svm_family = AF_VSOCK;
    address.svm_cid = cid;
    address.svm_port = port;
    ++attempts;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      if (errno == ECONNRESET || errno == ECONNREFUSED) {
        ++refused;
      } else {
        ++other_errors;
      }
    }
    ::close(fd);
  }
  std::printf("vsock_stream: flood: %llu connections, %llu refused, %llu other errors\n",
              static_cast<unsigned long long>(attempts), static_cast<unsigned long long>(refused),
              static_cast<unsigned long long>(other_errors));
  return 0;
}

int HostEcho(const std::string& uds, uint32_t port, uint64_t total) {
  auto connection = sandbox::ConnectHybridVsock(uds, port, std::chrono::seconds(120));
  if (!connection.ok()) {
    std::fprintf(stderr, "vsock_stream: %s\n", connection.status().message().c_str());
    return 1;
  }
  const int fd = connection->get();
  bool sent = false;
  std::thread writer([&] { sent = SendPattern(fd, total); });
  const int64_t received = ReceivePattern(fd);
  writer.join();
  if (!sent || received != static_cast<int64_t>(total)) {
    std::fprintf(stderr, "vsock_stream: echo: sent %s, received %lld of %llu bytes\n", sent ? "all" : "not all",
                 static_cast<long long>(received), static_cast<unsigned long long>(total));
    return 1;
  }
  std::printf("vsock_stream: host echo ok, %llu bytes each way\n", static_cast<unsigned long long>(total));
  return 0;
}

int HostReceive(const std::string& path, uint64_t total) {
  ::unlink(path.c_str());
  sandbox::Result<sandbox::UniqueFd> listener = sandbox::ListenUnix(path, 1);
  if (!listener.ok()) {
    std::fprintf(stderr, "vsock_stream: %s\n", listener.status().message().c_str());
    return 1;
  }
  int fd = ::accept(listener->get(), nullptr, nullptr);
  if (fd < 0) return Die("accept");
  const int64_t received = ReceivePattern(fd);
  ::close(fd);
  ::unlink(path.c_str());
  if (received != static_cast<int64_t>(total)) {
    std::fprintf(stderr, "vsock_stream: receive: got %lld of %llu bytes\n", static_cast<long long>(received),
                 static_cast<unsigned long long>(total));
    return 1;
  }
  std::printf("vsock_stream: host receive ok, %llu bytes\n", static_cast<unsigned long long>(total));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto number = [&](int index) { return std::strtoull(argv[index], nullptr, 10); };
  if (mode == "echo" && argc == 3) return Echo(static_cast<uint32_t>(number(2)));
  if (mode == "send" && argc == 5) return Send(static_cast<uint32_t>(number(2)), static_cast<uint32_t>(number(3)), number(4));
  if (mode == "flood" && argc == 5) return Flood(static_cast<uint32_t>(number(2)), static_cast<uint32_t>(number(3)), number(4));
  if (mode == "host-echo" && argc == 5) return HostEcho(argv[2], static_cast<uint32_t>(number(3)), number(4));
  if (mode == "host-receive" && argc == 4) return HostReceive(argv[2], number(3));
  std::fprintf(stderr,
               "usage: vsock_stream echo PORT | send CID PORT BYTES | flood CID PORT SECONDS | "
               "host-echo UDS PORT BYTES | host-receive PATH BYTES\n");
  return 2;
}
