// Path resolution confined to a directory tree: openat2(RESOLVE_IN_ROOT)
// treats the tree's top as "/", so symlinks and ".." cannot leave it.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::image {

// Opens `path` (relative to root_fd; "" means the root) with `flags`.
Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags);

// An O_PATH handle on a directory inside the root.
Result<UniqueFd> OpenDirInRoot(int root_fd, const std::string& path);

// Reads a whole regular file inside the root (e.g. etc/passwd).
Result<std::string> ReadFileInRoot(const std::string& root, const std::string& path);

}  // namespace sandbox::image
