#include "common/net/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

namespace sandbox::net {
namespace {

constexpr char kTunDevice[] = "/dev/net/tun";

Status SetMtu(const std::string& name, unsigned mtu) {
  // SIOCSIFMTU works on any socket of this namespace; no netlink needed.
  UniqueFd socket_fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!socket_fd.valid()) return ErrnoStatus("socket", "AF_INET for SIOCSIFMTU");
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(socket_fd.get(), SIOCSIFMTU, &request) != 0) {
    return ErrnoStatus("SIOCSIFMTU " + std::to_string(mtu), name);
  }
  return Status::Ok();
}

}  // namespace

Result<Tap> OpenTap(std::string_view name, std::optional<unsigned> mtu) {
  if (name.size() >= IFNAMSIZ) {
    return InvalidArgument("TAP name \"" + std::string(name) + "\" is longer than " +
                           std::to_string(IFNAMSIZ - 1) + " characters");
  }
  const std::string label = name.empty() ? std::string("tap") : std::string(name);
  Tap tap;
  tap.fd = UniqueFd(::open(kTunDevice, O_RDWR | O_CLOEXEC));
  if (!tap.fd.valid()) return ErrnoStatus("open", kTunDevice);
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(tap.fd.get(), TUNSETIFF, &request) != 0) return ErrnoStatus("TUNSETIFF", label);
  tap.name.assign(request.ifr_name, strnlen(request.ifr_name, IFNAMSIZ));
  int header_size = kVirtioNetHeaderSize;
  if (::ioctl(tap.fd.get(), TUNSETVNETHDRSZ, &header_size) != 0) {
    return ErrnoStatus("TUNSETVNETHDRSZ", tap.name);
  }
  if (mtu.has_value()) SANDBOX_RETURN_IF_ERROR(SetMtu(tap.name, *mtu));
  return tap;
}

Status TapSetOffload(int tap_fd, unsigned flags) {
  if (::ioctl(tap_fd, TUNSETOFFLOAD, static_cast<unsigned long>(flags)) != 0) {
    return ErrnoStatus("TUNSETOFFLOAD", "flags " + std::to_string(flags));
  }
  return Status::Ok();
}

Result<unsigned> TapFlags(int tap_fd) {
  ifreq request{};
  if (::ioctl(tap_fd, TUNGETIFF, &request) != 0) return ErrnoStatus("TUNGETIFF", "TAP fd");
  return static_cast<unsigned>(static_cast<unsigned short>(request.ifr_flags));
}

}  // namespace sandbox::net
