// Small file-system helpers that report failures as Status values naming the path.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox {

Result<std::string> ReadFile(const std::string& path);

// Writes `content` to a temporary file beside `path`, fsyncs it and renames it
// over `path`, so readers see either the old or the new file, never a torn one.
Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);

// mkdir -p. Existing directories are fine; an existing non-directory is an error.
Status MakeDirs(const std::string& path, mode_t mode = 0755);

// rm -rf without following symlinks. A missing path is not an error.
Status RemoveTree(const std::string& path);

bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);

// An exclusive flock(2) held for the lifetime of the object. The lock file is
// created if needed and left in place (removing it would race with waiters).
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // flock is released when the fd closes
};

}  // namespace sandbox
