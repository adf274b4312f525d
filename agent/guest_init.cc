#include "agent/guest_init.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <pthread.h>
#include <signal.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>

#include <cstdio>
#include <linux/random.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <algorithm>
#include <array>
#include <thread>
#include <vector>

#include "common/base/file_util.h"
#include "common/base/unique_fd.h"
#include "common/net/link.h"
#include "common/net/netlink_socket.h"

namespace sandbox::agent {
namespace {

Status MountIfNeeded(const char* source, const char* target, const char* type, unsigned long flags,
                     const char* data = nullptr) {
  ::mkdir(target, 0755);
  if (::mount(source, target, type, flags, data) != 0 && errno != EBUSY) {
    return ErrnoStatus("mount", std::string(type) + " on " + target);
  }
  return Status::Ok();
}

Status EnableCgroupControllers() {
  Result<std::string> controllers = ReadFile("/sys/fs/cgroup/cgroup.controllers");
  if (!controllers.ok()) return controllers.status();
  std::string enable;
  size_t start = 0;
  const std::string& text = *controllers;
  while (start < text.size()) {
    size_t end = text.find_first_of(" \n", start);
    if (end == std::string::npos) end = text.size();
    if (end > start) enable += (enable.empty() ? "+" : " +") + text.substr(start, end - start);
    start = end + 1;
  }
  UniqueFd control(::open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC));
  if (!control.valid()) return ErrnoStatus("open", "/sys/fs/cgroup/cgroup.subtree_control");
  if (!enable.empty() && ::write(control.get(), enable.data(), enable.size()) < 0) {
    return ErrnoStatus("write", "cgroup.subtree_control \"" + enable + "\"");
  }
  return Status::Ok();
}

Status BringUpLoopback() {
  SANDBOX_ASSIGN_OR_RETURN(net::NetlinkSocket socket, net::NetlinkSocket::Open());
  SANDBOX_ASSIGN_OR_RETURN(const net::LinkInfo lo, net::FindLinkByName(socket, "lo"));
  return net::SetLinkUp(socket, lo.index);
}

}  // namespace

Status SetUpGuest() {
  SANDBOX_RETURN_IF_ERROR(MountIfNeeded("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC));
  SANDBOX_RETURN_IF_ERROR(MountIfNeeded("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC));
  SANDBOX_RETURN_IF_ERROR(MountIfNeeded("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"));
  SANDBOX_RETURN_IF_ERROR(MountIfNeeded("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666"));
  SANDBOX_RETURN_IF_ERROR(MountIfNeeded("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"));
  SANDBOX_RETURN_IF_ERROR(MountIfNeeded("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC));
  SANDBOX_RETURN_IF_ERROR(EnableCgroupControllers());
  SANDBOX_RETURN_IF_ERROR(BringUpLoopback());
  return Status::Ok();
}

Result<size_t> SeedKernelRng(const std::string& source, size_t bytes) {
  constexpr size_t kMaxSeed = 512;
  bytes = std::min(bytes, kMaxSeed);
  // Non-blocking: the first read asks virtio-rng for data, later ones get it
  // (the hwrng device has no poll); a device that never answers costs 2 s.
  UniqueFd hwrng(::open(source.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!hwrng.valid()) return ErrnoStatus("open", source);
  std::array<uint8_t, kMaxSeed> seed{};
  size_t got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got < bytes) {
    const ssize_t read = ::read(hwrng.get(), seed.data() + got, bytes - got);
    if (read > 0) {
      got += static_cast<size_t>(read);
      continue;
    }
    if (read < 0 && errno == EINTR) continue;
    if (read < 0 && errno != EAGAIN) return ErrnoStatus("read", source);
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (got == 0) return Unavailable(source + " gave no bytes within 2 s");
  SANDBOX_RETURN_IF_ERROR(AddEntropyAndReseed({seed.data(), got}));
  return got;
}

Status AddEntropyAndReseed(std::span<const uint8_t> entropy) {
  constexpr size_t kMaxEntropy = 512;
  if (entropy.size() > kMaxEntropy) return InvalidArgument("entropy: at most 512 bytes");
  struct {
    int entropy_count;
    int buf_size;
    uint32_t buf[kMaxEntropy / sizeof(uint32_t)];
  } pool{};
  std::memcpy(pool.buf, entropy.data(), entropy.size());
  pool.entropy_count = static_cast<int>(entropy.size() * 8);
  pool.buf_size = static_cast<int>(entropy.size());
  UniqueFd random(::open("/dev/urandom", O_WRONLY | O_CLOEXEC));
  if (!random.valid()) return ErrnoStatus("open", "/dev/urandom");
  if (::ioctl(random.get(), RNDADDENTROPY, &pool) != 0) return ErrnoStatus("ioctl RNDADDENTROPY", "/dev/urandom");
  // ENODATA: the CRNG is not initialized yet; it will be from this pool.
  if (::ioctl(random.get(), RNDRESEEDCRNG) != 0 && errno != ENODATA) {
    return ErrnoStatus("ioctl RNDRESEEDCRNG", "/dev/urandom");
  }
  return Status::Ok();
}

Status PowerOff() {
  ::sync();
  ::reboot(RB_AUTOBOOT);
  return ErrnoStatus("reboot", "");
}

}  // namespace sandbox::agent
