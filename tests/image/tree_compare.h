// Describes a directory tree (paths, types, modes, owners, file contents and
// symlink targets) so two unpackers' results can be compared as a whole.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>

#include "common/base/file_util.h"

namespace sandbox::testing {

inline std::map<std::string, std::string> DescribeTree(const std::string& root) {
  std::map<std::string, std::string> tree;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    std::string path = entry.path().string();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    std::string description = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
                              std::to_string(st.st_gid);
    // Two appends, not " " + temporary: GCC 12 -O3 -Wrestrict false positive (bug 105651).
    if (S_ISREG(st.st_mode)) description.append(" ").append(ReadFile(path).value_or("<unreadable>"));
    if (S_ISLNK(st.st_mode)) description += " -> " + std::filesystem::read_symlink(path).string();
    tree[path.substr(root.size())] = description;
  }
  return tree;
}

}  // namespace sandbox::testing
