#include "shim/microvm/host_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/base/file_util.h"

namespace sandbox::shim {
namespace {

Status WriteValue(const std::string& path, const std::string& value) {
  FILE* file = std::fopen(path.c_str(), "we");
  if (file == nullptr) return ErrnoStatus("open", path);
  const bool written = std::fputs(value.c_str(), file) >= 0;
  const bool closed = std::fclose(file) == 0;  // cgroup files report errors on flush
  if (!written || !closed) return ErrnoStatus("write \"" + value + "\" to", path);
  return Status::Ok();
}

bool IsEmptyFile(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  return text.ok() && text->find_first_not_of(" \n") == std::string::npos;
}

// A new v1 cpuset cgroup starts with no cpus and mems: inherit the parent's.
void InheritCpuset(const std::string& dir) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    const std::string own = dir + "/" + file;
    if (!PathExists(own) || !IsEmptyFile(own)) continue;
    Result<std::string> parent = ReadFile(std::filesystem::path(dir).parent_path().string() + "/" + file);
    if (parent.ok()) (void)WriteValue(own, *parent);
  }
}

// A /proc/<pid>/cgroup line: "<hierarchy id>:<controllers>:<path>".
struct Membership {
  std::string controllers;  // empty on cgroup2; "cpu,cpuacct" or "name=systemd" on v1
  std::string path;
};

std::vector<Membership> ParseMemberships(const std::string& proc_cgroup_text) {
  std::vector<Membership> memberships;
  std::istringstream lines(proc_cgroup_text);
  for (std::string line; std::getline(lines, line);) {
    const size_t first = line.find(':');
    const size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    memberships.push_back({line.substr(first + 1, second - first - 1), line.substr(second + 1)});
  }
  return memberships;
}

// Whether a mount of `type` with mount `options` is the hierarchy of `controllers`.
bool IsHierarchyOf(const std::string& type, const std::string& options, const std::string& controllers) {
  if (type == "cgroup2") return controllers.empty();
  if (type != "cgroup" || controllers.empty()) return false;
  const std::string mount_options = "," + options + ",";
  std::istringstream names(controllers);
  for (std::string name; std::getline(names, name, ',');) {
    if (mount_options.find("," + name + ",") == std::string::npos) return false;
  }
  return true;
}

// A cgroup or cgroup2 line of /proc/self/mounts.
struct CgroupMount {
  std::string target;
  std::string type;
  std::string options;
};

std::vector<CgroupMount> CgroupMounts(const std::string& mounts_text) {
  std::vector<CgroupMount> mounts;
  std::istringstream lines(mounts_text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string source;
    CgroupMount mount;
    fields >> source >> mount.target >> mount.type >> mount.options;
    if (mount.type == "cgroup" || mount.type == "cgroup2") mounts.push_back(std::move(mount));
  }
  return mounts;
}

}  // namespace

std::vector<std::string> HostCgroupDirs(const std::string& mounts_text, const std::string& relative) {
  std::vector<std::string> dirs;
  for (const CgroupMount& mount : CgroupMounts(mounts_text)) dirs.push_back(mount.target + "/" + relative);
  return dirs;
}

Status JoinHostCgroups(const std::vector<std::string>& dirs, pid_t pid) {
  for (const std::string& dir : dirs) {
    // Each level of a new path needs its cpuset filled in before the next.
    std::filesystem::path path(dir);
    std::vector<std::string> missing;
    for (std::filesystem::path at = path; !PathExists(at.string()); at = at.parent_path()) missing.push_back(at.string());
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", *it).Wrap("linux.cgroupsPath");
      InheritCpuset(*it);
    }
    Status joined = WriteValue(dir + "/cgroup.procs", std::to_string(pid));
    if (!joined.ok()) return joined.Wrap("linux.cgroupsPath: joining " + dir);
  }
  return Status::Ok();
}

Status RemoveHostCgroups(const std::vector<std::string>& dirs, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  Status first = Status::Ok();
  for (const std::string& dir : dirs) {
    while (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      if (errno != EBUSY || std::chrono::steady_clock::now() >= deadline) {
        if (first.ok()) first = ErrnoStatus("rmdir", dir).Wrap("removing the sandbox's host cgroup");
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return first;
}

std::vector<std::string> CurrentCgroupDirs(const std::string& mounts_text, const std::string& proc_cgroup_text) {
  const std::vector<Membership> memberships = ParseMemberships(proc_cgroup_text);
  std::vector<std::string> dirs;
  for (const CgroupMount& mount : CgroupMounts(mounts_text)) {
    for (const Membership& membership : memberships) {
      if (!IsHierarchyOf(mount.type, mount.options, membership.controllers)) continue;
      dirs.push_back(membership.path == "/" ? mount.target : mount.target + membership.path);
      break;
    }
  }
  return dirs;
}

Status MoveToCgroups(const std::vector<std::string>& dirs, pid_t pid) {
  for (const std::string& dir : dirs) SANDBOX_RETURN_IF_ERROR(WriteValue(dir + "/cgroup.procs", std::to_string(pid)));
  return Status::Ok();
}

}  // namespace sandbox::shim
