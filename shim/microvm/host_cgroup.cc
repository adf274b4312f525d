#include "shim/microvm/host_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

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

}  // namespace

std::vector<std::string> HostCgroupDirs(const std::string& mounts_text, const std::string& relative) {
  std::vector<std::string> dirs;
  std::istringstream lines(mounts_text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string source, target, type;
    fields >> source >> target >> type;
    if (type == "cgroup" || type == "cgroup2") dirs.push_back(target + "/" + relative);
  }
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

void RemoveHostCgroups(const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) (void)::rmdir(dir.c_str());
}

}  // namespace sandbox::shim
