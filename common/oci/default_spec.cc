#include "common/oci/default_spec.h"

#include <algorithm>

#include "common/oci/version.h"

namespace sandbox::oci {
namespace {

Mount MakeMount(std::string destination, std::string type, std::string source, StringList options) {
  Mount mount;
  mount.destination = std::move(destination);
  mount.type = std::move(type);
  mount.source = std::move(source);
  mount.options = std::move(options);
  return mount;
}

Namespace MakeNamespace(std::string type) {
  Namespace ns;
  ns.type = std::move(type);
  return ns;
}

}  // namespace

Spec DefaultSpec(const DefaultSpecOptions& options) {
  Spec spec;
  spec.oci_version = std::string(kOciVersion);

  Process process;
  process.terminal = true;
  process.args = StringList{"sh"};
  process.env = StringList{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "TERM=xterm"};
  process.cwd = "/";
  Capabilities caps;
  StringList default_caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  caps.bounding = caps.effective = caps.permitted = default_caps;
  process.capabilities = caps;
  Rlimit nofile;
  nofile.type = "RLIMIT_NOFILE";
  nofile.soft = nofile.hard = 1024;
  process.rlimits = std::vector<Rlimit>{nofile};
  process.no_new_privileges = true;
  spec.process = process;

  Root root;
  root.path = "rootfs";
  root.readonly = true;
  spec.root = root;
  spec.hostname = "sandbox";

  std::vector<Mount> mounts = {
      MakeMount("/proc", "proc", "proc", {}),
      MakeMount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      MakeMount("/dev/pts", "devpts", "devpts",
                {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      MakeMount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      MakeMount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      MakeMount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      MakeMount("/sys/fs/cgroup", "cgroup2", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  };
  mounts[0].options.reset();

  Linux linux;
  std::vector<Namespace> namespaces = {MakeNamespace("pid"), MakeNamespace("network"),
                                       MakeNamespace("ipc"), MakeNamespace("uts"),
                                       MakeNamespace("mount"), MakeNamespace("cgroup")};
  linux.masked_paths = StringList{"/proc/acpi",          "/proc/asound",        "/proc/kcore",
                                  "/proc/keys",          "/proc/latency_stats", "/proc/timer_list",
                                  "/proc/timer_stats",   "/proc/sched_debug",   "/sys/firmware",
                                  "/proc/scsi",          "/sys/devices/virtual/powercap"};
  linux.readonly_paths = StringList{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

  if (options.rootless) {
    // As runc --rootless: a user namespace mapping the caller to root, no
    // network namespace, devpts and mqueue without gid=, /sys bind-mounted.
    namespaces.erase(std::remove_if(namespaces.begin(), namespaces.end(),
                                    [](const Namespace& ns) { return ns.type == "network"; }),
                     namespaces.end());
    namespaces.push_back(MakeNamespace("user"));
    IdMapping uid_map{.container_id = 0, .host_id = options.host_uid, .size = 1, .unknown = {}};
    IdMapping gid_map{.container_id = 0, .host_id = options.host_gid, .size = 1, .unknown = {}};
    linux.uid_mappings = std::vector<IdMapping>{uid_map};
    linux.gid_mappings = std::vector<IdMapping>{gid_map};
    for (Mount& mount : mounts) {
      if (mount.destination == "/dev/pts") {
        std::erase(*mount.options, "gid=5");
      } else if (mount.destination == "/sys") {
        mount = MakeMount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
      }
    }
    std::erase_if(mounts, [](const Mount& mount) { return mount.destination == "/sys/fs/cgroup"; });
  } else {
    Resources resources;
    DeviceRule deny_all;
    deny_all.allow = false;
    deny_all.access = "rwm";
    resources.devices = std::vector<DeviceRule>{deny_all};
    linux.resources = resources;
  }
  linux.namespaces = namespaces;
  spec.mounts = mounts;
  spec.linux = linux;
  return spec;
}

}  // namespace sandbox::oci
