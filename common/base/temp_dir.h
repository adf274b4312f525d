// TempDir: a directory made with mkdtemp and removed, with everything in it,
// when the object dies, unless Release()d first. Move-only.
#pragma once

#include <string>

#include "common/base/status.h"

namespace sandbox {

class TempDir {
 public:
  // Makes "<prefix>XXXXXX" (prefix may hold a directory: "/tmp/sandbox-test-").
  static Result<TempDir> Create(const std::string& prefix);
  // The same, or aborts: for tests, where a missing /tmp is fatal anyway.
  static TempDir CreateOrDie(const std::string& prefix);

  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // Keeps the directory; the object no longer owns it.
  void Release() { path_.clear(); }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace sandbox
