#include "common/base/temp_dir.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include "common/base/file_util.h"

namespace sandbox {

Result<TempDir> TempDir::Create(const std::string& prefix) {
  std::string pattern = prefix + "XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return ErrnoStatus("mkdtemp", pattern);
  return TempDir(std::move(pattern));
}

TempDir TempDir::CreateOrDie(const std::string& prefix) {
  Result<TempDir> dir = Create(prefix);
  if (!dir.ok()) {
    std::fprintf(stderr, "%s\n", dir.status().message().c_str());
    std::abort();
  }
  return std::move(dir).value();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) (void)RemoveTree(path_);
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)RemoveTree(path_);
}

}  // namespace sandbox
