// Test helpers for real TAP devices: a thread in a network namespace of its
// own (the TAPs it makes live and die there; the test process's namespace is
// untouched), and a TAP opened on /dev/net/tun. Needs root, as CI has.
#pragma once

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::vmm::testing {

// Runs `body` on a thread moved into a new network namespace; returns why
// it could not ("" when it ran).
inline std::string InFreshNetworkNamespace(const std::function<void()>& body) {
  std::string failed;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      failed = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    body();
  }).join();
  return failed;
}

inline Result<UniqueFd> OpenTap(const char* name, short flags) {
  UniqueFd tap(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!tap.valid()) return ErrnoStatus("open", "/dev/net/tun");
  ifreq request{};
  std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  request.ifr_flags = flags;
  if (::ioctl(tap.get(), TUNSETIFF, &request) != 0) return ErrnoStatus("ioctl TUNSETIFF", name);
  return tap;
}

}  // namespace sandbox::vmm::testing
