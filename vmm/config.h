// sandbox-vmm's configuration file (--config FILE.json). The schema is in
// vmm/README.md; every error names the field it is about.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sandbox::vmm {

struct BlockConfig {
  std::string id;
  std::string path;
  bool read_only = false;
};

struct VsockConfig {
  uint64_t guest_cid = 3;
  std::string uds_path;
};

// A virtio-fs device served by a vhost-user back-end (virtiofsd) listening
// on `socket`; the guest mounts it by `tag`.
struct FsConfig {
  std::string tag;
  std::string socket;
};

// A virtio-net device on a TAP fd the caller opened (IFF_TAP | IFF_NO_PI |
// IFF_VNET_HDR) and passed to sandbox-vmm; the VMM takes it over. An
// unplugged one has no TAP (tap_fd stays -1): the guest sees a NIC with its
// link up that drops what it sends and receives nothing, as a VM template's
// NIC does until a clone is restored with a TAP behind it.
struct NetConfig {
  int tap_fd = -1;
  std::array<uint8_t, 6> mac{};
  uint16_t mtu = 1500;
  bool unplugged = false;
};

// The confinement sandbox-vmm enters once the VM is built, before the guest's
// first instruction (vmm/sandboxing/jail.h): private mount, IPC, UTS and
// network namespaces, `root` as its read-only "/", `uid`/`gid` with no
// capabilities, and rlimits.
struct JailConfig {
  std::string root;  // an absolute directory; vsock.uds_path must be in it
  uint32_t uid = 0;  // not 0: the point is an unprivileged VMM
  uint32_t gid = 0;
  uint64_t max_open_files = 1024;  // RLIMIT_NOFILE (vsock connections, ...)
};

// Start from a snapshot (the `snapshot` API op wrote both files) instead of
// booting a kernel: guest RAM is mapped copy-on-write from `memory`. The
// config's virtio devices must be the snapshot's; its NICs get the TAPs and
// MACs of this config.
struct RestoreConfig {
  std::string state;
  std::string memory;
};

inline constexpr uint32_t kMaxJailId = 0xfffffffe;  // (uid_t)-1 means "unchanged"

struct VmmConfig {
  std::string kernel;
  std::optional<std::string> initrd;
  std::string cmdline;
  uint32_t vcpus = 1;
  uint64_t memory_mib = 128;
  std::vector<BlockConfig> block;
  std::optional<VsockConfig> vsock;
  std::vector<FsConfig> fs;
  std::vector<NetConfig> net;
  bool rng = false;
  // A virtio-balloon device for free page reporting (virtio/devices/balloon.h).
  bool balloon = false;
  std::string serial = "stdout";  // "stdout", "none" or a file path
  std::optional<std::string> api_socket;
  std::string log_level = "info";
  // Each thread runs under its seccomp allowlist (vmm/sandboxing); false
  // only to debug a system call the filters lack.
  bool seccomp = true;
  std::optional<JailConfig> jail;
  std::optional<RestoreConfig> restore;
};

inline constexpr uint32_t kMaxVcpus = 254;
inline constexpr uint64_t kMinMemoryMib = 64;
inline constexpr uint64_t kMaxMemoryMib = 1024 * 1024;
inline constexpr size_t kMaxFsTagLength = 36;  // the virtio-fs config space
inline constexpr size_t kMaxNics = 8;
inline constexpr uint64_t kMinMtu = 68;      // IPv4's minimum
inline constexpr uint64_t kMaxMtu = 65521;  // the largest IPv4 packet less the 14-byte Ethernet header
// How many shared ranges a snapshot takes (the control API's snapshot op):
// with the kernel's text and RAM's two regions, a vhost-user back-end's
// view of guest RAM stays within its 8 regions.
inline constexpr size_t kMaxSharedRanges = 4;

// Parses and checks the document (types, ranges, unknown keys). Does not
// touch the files it names.
Result<VmmConfig> ParseVmmConfig(const std::string& text);
Result<VmmConfig> LoadVmmConfig(const std::string& path);

// Checks the config against this host before anything is created: the files
// it names can be opened, the vsock socket path is free, each net tap_fd (of
// a NIC that is not unplugged) is an open TAP with a vnet header, the memory
// fits.
Status CheckVmmConfigOnHost(const VmmConfig& config);

}  // namespace sandbox::vmm
