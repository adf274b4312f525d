#include "vmm/config.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <climits>
#include <fmt/format.h>
#include <set>

#include "common/base/file_util.h"
#include "common/base/unique_fd.h"

namespace sandbox::vmm {
namespace {

using nlohmann::json;

std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Reads typed fields out of one JSON object, naming `path.key` in errors and
// rejecting keys nobody asked for.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  std::string Name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  const json* Find(const std::string& key) {
    known_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  Status String(const std::string& key, std::string& out, bool required) {
    const json* value = Find(key);
    if (value == nullptr) return required ? InvalidArgument(Name(key) + ": required") : Status::Ok();
    if (!value->is_string()) return InvalidArgument(Name(key) + ": must be a string");
    out = value->get<std::string>();
    if (out.find('\0') != std::string::npos) return InvalidArgument(Name(key) + ": contains a NUL byte");
    if (required && out.empty()) return InvalidArgument(Name(key) + ": must not be empty");
    return Status::Ok();
  }

  Status OptionalString(const std::string& key, std::optional<std::string>& out) {
    if (Find(key) == nullptr) return Status::Ok();
    std::string value;
    SANDBOX_RETURN_IF_ERROR(String(key, value, true));
    out = std::move(value);
    return Status::Ok();
  }

  template <class T>
  Status Unsigned(const std::string& key, T& out, uint64_t min, uint64_t max) {
    const json* value = Find(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_number_unsigned() || value->get<uint64_t>() < min || value->get<uint64_t>() > max) {
      return InvalidArgument(fmt::format("{}: must be an integer from {} to {}", Name(key), min, max));
    }
    out = static_cast<T>(value->get<uint64_t>());
    return Status::Ok();
  }

  Status Bool(const std::string& key, bool& out) {
    const json* value = Find(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_boolean()) return InvalidArgument(Name(key) + ": must be true or false");
    out = value->get<bool>();
    return Status::Ok();
  }

  Status RejectUnknown() const {
    for (const auto& [key, value] : object_.items()) {
      if (!known_.contains(key)) return InvalidArgument(fmt::format("{}: unknown key", Name(key)));
    }
    return Status::Ok();
  }

 private:
  const json& object_;
  std::string path_;
  std::set<std::string> known_;
};

Status ParseBlock(const json& value, const std::string& path, BlockConfig& block) {
  if (!value.is_object()) return InvalidArgument(path + ": must be an object");
  ObjectReader reader(value, path);
  SANDBOX_RETURN_IF_ERROR(reader.String("id", block.id, true));
  SANDBOX_RETURN_IF_ERROR(reader.String("path", block.path, true));
  SANDBOX_RETURN_IF_ERROR(reader.Bool("read_only", block.read_only));
  if (block.id.size() > 20) return InvalidArgument(path + ".id: at most 20 bytes (the virtio-blk serial)");
  return reader.RejectUnknown();
}

Status ParseVsock(const json& value, VsockConfig& vsock) {
  if (!value.is_object()) return InvalidArgument("vsock: must be an object");
  ObjectReader reader(value, "vsock");
  // CIDs 0-2 are reserved (hypervisor, local, host); 2^32-1 is "any".
  SANDBOX_RETURN_IF_ERROR(reader.Unsigned("guest_cid", vsock.guest_cid, 3, 0xfffffffe));
  if (reader.Find("guest_cid") == nullptr) return InvalidArgument("vsock.guest_cid: required");
  SANDBOX_RETURN_IF_ERROR(reader.String("uds_path", vsock.uds_path, true));
  return reader.RejectUnknown();
}

Status ParseJail(const json& value, JailConfig& jail) {
  if (!value.is_object()) return InvalidArgument("jail: must be an object");
  ObjectReader reader(value, "jail");
  SANDBOX_RETURN_IF_ERROR(reader.String("root", jail.root, true));
  if (jail.root.front() != '/' || jail.root.size() < 2 || jail.root.back() == '/') {
    return InvalidArgument(
        fmt::format("jail.root: must be an absolute directory path without a trailing slash, not \"{}\"", jail.root));
  }
  for (const char* key : {"uid", "gid"}) {
    if (reader.Find(key) == nullptr) return InvalidArgument(reader.Name(key) + ": required");
  }
  SANDBOX_RETURN_IF_ERROR(reader.Unsigned("uid", jail.uid, 1, kMaxJailId));
  SANDBOX_RETURN_IF_ERROR(reader.Unsigned("gid", jail.gid, 1, kMaxJailId));
  SANDBOX_RETURN_IF_ERROR(reader.Unsigned("max_open_files", jail.max_open_files, 64, 1 << 20));
  return reader.RejectUnknown();
}

// A restored guest brings its kernel in its memory, and its drivers expect
// the devices it had (checked against the snapshot at start): vsock, rng,
// balloon, virtio-fs and virtio-net are restored, besides the legacy ones. A NIC
// gets this config's TAP and MAC; the guest's driver keeps the MAC it read
// when the snapshot's VM booted (the guest agent sets the new one).
Status ParseRestore(const json& value, ObjectReader& top, RestoreConfig& restore) {
  if (!value.is_object()) return InvalidArgument("restore: must be an object");
  ObjectReader reader(value, "restore");
  SANDBOX_RETURN_IF_ERROR(reader.String("state", restore.state, true));
  SANDBOX_RETURN_IF_ERROR(reader.String("memory", restore.memory, true));
  for (const char* key : {"kernel", "initrd", "cmdline"}) {
    if (top.Find(key) != nullptr) {
      return InvalidArgument(fmt::format("{}: not used with restore (the snapshot's memory holds the guest)", key));
    }
  }
  // A block device's requests in flight are not saved yet.
  if (top.Find("block") != nullptr) {
    return InvalidArgument("block: virtio devices cannot be restored from a snapshot yet");
  }
  return reader.RejectUnknown();
}

Status ParseFs(const json& value, const std::string& path, FsConfig& fs) {
  if (!value.is_object()) return InvalidArgument(path + ": must be an object");
  ObjectReader reader(value, path);
  SANDBOX_RETURN_IF_ERROR(reader.String("tag", fs.tag, true));
  SANDBOX_RETURN_IF_ERROR(reader.String("socket", fs.socket, true));
  if (fs.tag.empty() || fs.tag.size() > kMaxFsTagLength) {
    return InvalidArgument(fmt::format("{}.tag: want 1 to {} bytes", path, kMaxFsTagLength));
  }
  return reader.RejectUnknown();
}

// "02:00:00:00:00:01": six hex pairs; a NIC's own address must be unicast
// (low bit of the first octet clear) and not all zeros.
std::optional<std::array<uint8_t, 6>> ParseMac(const std::string& text) {
  std::array<uint8_t, 6> mac{};
  if (text.size() != 17) return std::nullopt;
  for (size_t i = 0; i < mac.size(); ++i) {
    const char* begin = text.data() + 3 * i;
    if (i > 0 && begin[-1] != ':') return std::nullopt;
    if (!std::isxdigit(static_cast<unsigned char>(begin[0])) || !std::isxdigit(static_cast<unsigned char>(begin[1]))) {
      return std::nullopt;
    }
    auto [end, error] = std::from_chars(begin, begin + 2, mac[i], 16);
    if (error != std::errc() || end != begin + 2) return std::nullopt;
  }
  return mac;
}

Status ParseNet(const json& value, const std::string& path, NetConfig& net) {
  if (!value.is_object()) return InvalidArgument(path + ": must be an object");
  ObjectReader reader(value, path);
  SANDBOX_RETURN_IF_ERROR(reader.Bool("unplugged", net.unplugged));
  const bool has_tap = reader.Find("tap_fd") != nullptr;
  if (net.unplugged && has_tap) return InvalidArgument(path + ".tap_fd: not used with unplugged (the NIC has no TAP)");
  if (!net.unplugged && !has_tap) return InvalidArgument(path + ".tap_fd: required (or \"unplugged\": true)");
  // 0-2 are stdio; the fd is inherited from whoever started sandbox-vmm.
  SANDBOX_RETURN_IF_ERROR(reader.Unsigned("tap_fd", net.tap_fd, 3, INT_MAX));
  std::string mac;
  SANDBOX_RETURN_IF_ERROR(reader.String("mac", mac, true));
  const auto parsed = ParseMac(mac);
  if (!parsed) return InvalidArgument(fmt::format("{}.mac: \"{}\" is not a MAC address like 02:00:00:00:00:01", path, mac));
  if (((*parsed)[0] & 1) != 0 || *parsed == std::array<uint8_t, 6>{}) {
    return InvalidArgument(fmt::format("{}.mac: {} is not a unicast address", path, mac));
  }
  net.mac = *parsed;
  SANDBOX_RETURN_IF_ERROR(reader.Unsigned("mtu", net.mtu, kMinMtu, kMaxMtu));
  return reader.RejectUnknown();
}

Status ParseNets(const json& nets, std::vector<NetConfig>& out) {
  if (!nets.is_array()) return InvalidArgument("net: must be an array");
  if (nets.size() > kMaxNics) return InvalidArgument(fmt::format("net: at most {} NICs", kMaxNics));
  std::set<int> fds;
  std::set<std::array<uint8_t, 6>> macs;
  for (size_t i = 0; i < nets.size(); ++i) {
    const std::string path = fmt::format("net[{}]", i);
    NetConfig net;
    SANDBOX_RETURN_IF_ERROR(ParseNet(nets[i], path, net));
    // The VMM owns each fd; one fd on two NICs would be closed twice. Unplugged NICs have none.
    if (!net.unplugged && !fds.insert(net.tap_fd).second) {
      return InvalidArgument(fmt::format("{}.tap_fd: {} is used twice", path, net.tap_fd));
    }
    if (!macs.insert(net.mac).second) return InvalidArgument(fmt::format("{}.mac: used twice", path));
    out.push_back(net);
  }
  return Status::Ok();
}

}  // namespace

Result<VmmConfig> ParseVmmConfig(const std::string& text) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::exception& error) {  // parse_error, and out_of_range for a number like 1e400
    return InvalidArgument(fmt::format("config is not valid JSON: {}", error.what()));
  }
  if (!document.is_object()) return InvalidArgument("config: must be a JSON object");
  VmmConfig config;
  ObjectReader reader(document, "");
  if (const json* restore = reader.Find("restore")) {
    config.restore.emplace();
    SANDBOX_RETURN_IF_ERROR(ParseRestore(*restore, reader, *config.restore));
  }
  SANDBOX_RETURN_IF_ERROR(reader.String("kernel", config.kernel, !config.restore));
  SANDBOX_RETURN_IF_ERROR(reader.OptionalString("initrd", config.initrd));
  SANDBOX_RETURN_IF_ERROR(reader.String("cmdline", config.cmdline, false));
  SANDBOX_RETURN_IF_ERROR(reader.Unsigned("vcpus", config.vcpus, 1, kMaxVcpus));
  SANDBOX_RETURN_IF_ERROR(reader.Unsigned("memory_mib", config.memory_mib, kMinMemoryMib, kMaxMemoryMib));
  if (const json* blocks = reader.Find("block")) {
    if (!blocks->is_array()) return InvalidArgument("block: must be an array");
    std::set<std::string> ids;
    for (size_t i = 0; i < blocks->size(); ++i) {
      const std::string path = fmt::format("block[{}]", i);
      BlockConfig block;
      SANDBOX_RETURN_IF_ERROR(ParseBlock((*blocks)[i], path, block));
      if (!ids.insert(block.id).second) return InvalidArgument(fmt::format("{}.id: \"{}\" is used twice", path, block.id));
      config.block.push_back(std::move(block));
    }
  }
  if (const json* vsock = reader.Find("vsock")) {
    config.vsock.emplace();
    SANDBOX_RETURN_IF_ERROR(ParseVsock(*vsock, *config.vsock));
  }
  if (const json* shares = reader.Find("fs")) {
    if (!shares->is_array()) return InvalidArgument("fs: must be an array");
    std::set<std::string> tags;
    for (size_t i = 0; i < shares->size(); ++i) {
      const std::string path = fmt::format("fs[{}]", i);
      FsConfig fs;
      SANDBOX_RETURN_IF_ERROR(ParseFs((*shares)[i], path, fs));
      if (!tags.insert(fs.tag).second) return InvalidArgument(fmt::format("{}.tag: \"{}\" is used twice", path, fs.tag));
      config.fs.push_back(std::move(fs));
    }
  }
  if (const json* nets = reader.Find("net")) SANDBOX_RETURN_IF_ERROR(ParseNets(*nets, config.net));
  SANDBOX_RETURN_IF_ERROR(reader.Bool("rng", config.rng));
  SANDBOX_RETURN_IF_ERROR(reader.Bool("balloon", config.balloon));
  SANDBOX_RETURN_IF_ERROR(reader.String("serial", config.serial, false));
  if (config.serial.empty()) return InvalidArgument("serial: must be \"stdout\", \"none\" or a file path");
  SANDBOX_RETURN_IF_ERROR(reader.OptionalString("api_socket", config.api_socket));
  SANDBOX_RETURN_IF_ERROR(reader.String("log_level", config.log_level, false));
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
  if (!kLevels.contains(config.log_level)) {
    return InvalidArgument("log_level: must be one of trace, debug, info, warn, error, off");
  }
  SANDBOX_RETURN_IF_ERROR(reader.Bool("seccomp", config.seccomp));
  if (const json* jail = reader.Find("jail")) {
    config.jail.emplace();
    SANDBOX_RETURN_IF_ERROR(ParseJail(*jail, *config.jail));
    // The jailed VMM still connects to "<uds_path>_<port>": only inside its root can it see them.
    if (config.vsock && ParentDirectory(config.vsock->uds_path) != config.jail->root) {
      return InvalidArgument(fmt::format("vsock.uds_path: {} must be directly in jail.root ({}), where the jailed VMM "
                                         "reaches the host's vsock listeners",
                                         config.vsock->uds_path, config.jail->root));
    }
  }
  SANDBOX_RETURN_IF_ERROR(reader.RejectUnknown());
  return config;
}

namespace {

Status CheckReadable(const std::string& field, const std::string& path, int flags = O_RDONLY) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", path).Wrap(field);
  struct stat info {};
  if (fstat(fd.get(), &info) != 0 || S_ISDIR(info.st_mode)) return InvalidArgument(field + ": " + path + " is a directory");
  return Status::Ok();
}

Status CheckTapFd(const std::string& field, int fd) {
  if (::fcntl(fd, F_GETFD) < 0) return ErrnoStatus("fcntl", fmt::format("fd {}", fd)).Wrap(field);
  ifreq request{};
  if (::ioctl(fd, TUNGETIFF, &request) != 0) {
    return ErrnoStatus("ioctl TUNGETIFF", fmt::format("fd {} (not a TAP?)", fd)).Wrap(field);
  }
  constexpr int kWanted = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if ((request.ifr_flags & kWanted) != kWanted) {
    return InvalidArgument(fmt::format("{}: fd {} ({}) was not opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR", field,
                                       fd, request.ifr_name));
  }
  return Status::Ok();
}

}  // namespace

Status CheckVmmConfigOnHost(const VmmConfig& config) {
  if (config.restore) {
    SANDBOX_RETURN_IF_ERROR(CheckReadable("restore.state", config.restore->state));
    SANDBOX_RETURN_IF_ERROR(CheckReadable("restore.memory", config.restore->memory));
  } else {
    SANDBOX_RETURN_IF_ERROR(CheckReadable("kernel", config.kernel));
  }
  if (config.initrd) SANDBOX_RETURN_IF_ERROR(CheckReadable("initrd", *config.initrd));
  for (size_t i = 0; i < config.block.size(); ++i) {
    const BlockConfig& block = config.block[i];
    SANDBOX_RETURN_IF_ERROR(
        CheckReadable(fmt::format("block[{}].path", i), block.path, block.read_only ? O_RDONLY : O_RDWR));
  }
  if (config.vsock) {
    if (PathExists(config.vsock->uds_path)) {
      return AlreadyExists(fmt::format("vsock.uds_path: {} already exists (another VM, or a stale socket)",
                                       config.vsock->uds_path));
    }
    if (!IsDirectory(ParentDirectory(config.vsock->uds_path))) {
      return NotFound(fmt::format("vsock.uds_path: directory {} does not exist", ParentDirectory(config.vsock->uds_path)));
    }
  }
  for (size_t i = 0; i < config.fs.size(); ++i) {
    struct stat info {};
    if (::stat(config.fs[i].socket.c_str(), &info) != 0) {
      return ErrnoStatus("stat", config.fs[i].socket).Wrap(fmt::format("fs[{}].socket", i));
    }
    if (!S_ISSOCK(info.st_mode)) {
      return InvalidArgument(fmt::format("fs[{}].socket: {} is not a socket (is virtiofsd listening?)", i, config.fs[i].socket));
    }
  }
  for (size_t i = 0; i < config.net.size(); ++i) {
    if (config.net[i].unplugged) continue;  // no TAP
    SANDBOX_RETURN_IF_ERROR(CheckTapFd(fmt::format("net[{}].tap_fd", i), config.net[i].tap_fd));
  }
  if (config.api_socket) {
    if (PathExists(*config.api_socket)) {
      return AlreadyExists(fmt::format("api_socket: {} already exists", *config.api_socket));
    }
    if (!IsDirectory(ParentDirectory(*config.api_socket))) {
      return NotFound(fmt::format("api_socket: directory {} does not exist", ParentDirectory(*config.api_socket)));
    }
  }
  if (config.jail && !IsDirectory(config.jail->root)) {
    return NotFound(fmt::format("jail.root: directory {} does not exist", config.jail->root));
  }
  if (config.serial != "stdout" && config.serial != "none" && !IsDirectory(ParentDirectory(config.serial))) {
    return NotFound(fmt::format("serial: directory {} does not exist", ParentDirectory(config.serial)));
  }
  const uint64_t host_mib = (static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE)) >> 20;
  if (config.memory_mib > host_mib) {
    return InvalidArgument(fmt::format("memory_mib: {} MiB is more than this host's {} MiB", config.memory_mib, host_mib));
  }
  return Status::Ok();
}

Result<VmmConfig> LoadVmmConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status().Wrap("--config");
  return ParseVmmConfig(*text);
}

}  // namespace sandbox::vmm
