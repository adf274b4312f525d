// Test helper: the processes whose parent is a given one, from each
// /proc/<pid>/status's PPid line.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/base/file_util.h"

namespace sandbox::testing {

inline std::vector<pid_t> ChildrenOf(pid_t parent) {
  const std::string line = "PPid:\t" + std::to_string(parent) + "\n";
  std::vector<pid_t> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = ::readdir(proc)) {
    const pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    Result<std::string> status = ReadFile("/proc/" + std::to_string(pid) + "/status");
    if (status.ok() && status->find(line) != std::string::npos) children.push_back(pid);
  }
  ::closedir(proc);
  return children;
}

}  // namespace sandbox::testing
