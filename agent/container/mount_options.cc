#include "agent/container/mount_options.h"

#include <linux/mount.h>
#include <sys/mount.h>

#include <map>

namespace sandbox::agent {
namespace {

#ifndef MS_NOSYMFOLLOW
constexpr unsigned long MS_NOSYMFOLLOW = 256;
#endif

struct FlagEffect {
  bool clear;
  unsigned long flag;
};

const std::map<std::string, FlagEffect>& FlagOptions() {
  static const std::map<std::string, FlagEffect> kOptions = {
      {"ro", {false, MS_RDONLY}},         {"rw", {true, MS_RDONLY}},
      {"nosuid", {false, MS_NOSUID}},     {"suid", {true, MS_NOSUID}},
      {"nodev", {false, MS_NODEV}},       {"dev", {true, MS_NODEV}},
      {"noexec", {false, MS_NOEXEC}},     {"exec", {true, MS_NOEXEC}},
      {"sync", {false, MS_SYNCHRONOUS}},  {"async", {true, MS_SYNCHRONOUS}},
      {"dirsync", {false, MS_DIRSYNC}},   {"remount", {false, MS_REMOUNT}},
      {"mand", {false, MS_MANDLOCK}},     {"nomand", {true, MS_MANDLOCK}},
      {"noatime", {false, MS_NOATIME}},   {"atime", {true, MS_NOATIME}},
      {"nodiratime", {false, MS_NODIRATIME}}, {"diratime", {true, MS_NODIRATIME}},
      {"relatime", {false, MS_RELATIME}}, {"norelatime", {true, MS_RELATIME}},
      {"strictatime", {false, MS_STRICTATIME}}, {"nostrictatime", {true, MS_STRICTATIME}},
      {"lazytime", {false, MS_LAZYTIME}}, {"nolazytime", {true, MS_LAZYTIME}},
      {"iversion", {false, MS_I_VERSION}}, {"noiversion", {true, MS_I_VERSION}},
      {"silent", {false, MS_SILENT}},     {"loud", {true, MS_SILENT}},
      {"nosymfollow", {false, MS_NOSYMFOLLOW}}, {"symfollow", {true, MS_NOSYMFOLLOW}},
      {"defaults", {false, 0}},
  };
  return kOptions;
}

const std::map<std::string, unsigned long>& PropagationOptions() {
  static const std::map<std::string, unsigned long> kOptions = {
      {"private", MS_PRIVATE},   {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},     {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},       {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  return kOptions;
}

struct AttrEffect {
  bool clear;
  uint64_t attr;
};

// The recursive forms ("rro", "rnosuid", ...), applied with mount_setattr(2).
const std::map<std::string, AttrEffect>& RecursiveOptions() {
  static const std::map<std::string, AttrEffect> kOptions = {
      {"rro", {false, MOUNT_ATTR_RDONLY}},         {"rrw", {true, MOUNT_ATTR_RDONLY}},
      {"rnosuid", {false, MOUNT_ATTR_NOSUID}},     {"rsuid", {true, MOUNT_ATTR_NOSUID}},
      {"rnodev", {false, MOUNT_ATTR_NODEV}},       {"rdev", {true, MOUNT_ATTR_NODEV}},
      {"rnoexec", {false, MOUNT_ATTR_NOEXEC}},     {"rexec", {true, MOUNT_ATTR_NOEXEC}},
      {"rnodiratime", {false, MOUNT_ATTR_NODIRATIME}}, {"rdiratime", {true, MOUNT_ATTR_NODIRATIME}},
      {"rnoatime", {false, MOUNT_ATTR_NOATIME}},   {"ratime", {true, MOUNT_ATTR__ATIME}},
      {"rrelatime", {false, MOUNT_ATTR_RELATIME}}, {"rnorelatime", {true, MOUNT_ATTR__ATIME}},
      {"rstrictatime", {false, MOUNT_ATTR_STRICTATIME}}, {"rnostrictatime", {true, MOUNT_ATTR__ATIME}},
      {"rnosymfollow", {false, MOUNT_ATTR_NOSYMFOLLOW}}, {"rsymfollow", {true, MOUNT_ATTR_NOSYMFOLLOW}},
  };
  return kOptions;
}

}  // namespace

bool MountPlan::NeedsBindRemount() const {
  return bind && (flags & ~(MS_REC | MS_REMOUNT)) != 0;
}

Result<MountPlan> ParseMountOptions(const std::vector<std::string>& options) {
  MountPlan plan;
  for (size_t i = 0; i < options.size(); ++i) {
    const std::string& option = options[i];
    if (option.empty()) return InvalidArgument("options[" + std::to_string(i) + "]: empty option");
    if (auto flag = FlagOptions().find(option); flag != FlagOptions().end()) {
      if (flag->second.clear) {
        plan.flags &= ~flag->second.flag;
      } else {
        plan.flags |= flag->second.flag;
      }
    } else if (auto propagation = PropagationOptions().find(option); propagation != PropagationOptions().end()) {
      plan.propagation = propagation->second;
    } else if (auto attr = RecursiveOptions().find(option); attr != RecursiveOptions().end()) {
      if (attr->second.clear) {
        plan.recursive_clear |= attr->second.attr;
        plan.recursive_set &= ~attr->second.attr;
      } else {
        plan.recursive_set |= attr->second.attr;
        plan.recursive_clear &= ~attr->second.attr;
      }
    } else if (option == "bind") {
      plan.bind = true;
    } else if (option == "rbind") {
      plan.bind = true;
      plan.recursive_bind = true;
    } else if (option == "tmpcopyup") {
      plan.tmpcopyup = true;
    } else {
      if (!plan.data.empty()) plan.data += ',';
      plan.data += option;
    }
  }
  return plan;
}

}  // namespace sandbox::agent
