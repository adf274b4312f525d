#include "common/base/root_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace sandbox {
namespace {

Result<std::vector<std::string>> Components(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "..") return InvalidArgument(path + ": \"..\" is not allowed");
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

}  // namespace

Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* relative = path.c_str();
  while (*relative == '/') ++relative;
  const int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, *relative ? relative : ".", &how, sizeof(how)));
  if (fd < 0) return ErrnoStatus("openat2", path);
  return UniqueFd(fd);
}

Result<UniqueFd> MakeInRoot(int root_fd, const std::string& path, bool file) {
  SANDBOX_ASSIGN_OR_RETURN(std::vector<std::string> parts, Components(path));
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string parent = walked;
    walked += (walked.empty() ? "" : "/") + parts[i];
    auto existing = OpenInRoot(root_fd, walked, O_PATH);
    if (existing.ok()) continue;
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd parent_fd, OpenInRoot(root_fd, parent, O_PATH | O_DIRECTORY));
    if (file && i + 1 == parts.size()) {
      UniqueFd created(::openat(parent_fd.get(), parts[i].c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
      if (!created.valid()) return ErrnoStatus("create", path);
    } else if (::mkdirat(parent_fd.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", path);
    }
  }
  return OpenInRoot(root_fd, walked, O_PATH);
}

bool IsAtOrUnder(const std::string& path, const std::string& parent) {
  auto child = Components(path), base = Components(parent);
  if (!child.ok() || !base.ok() || base->size() > child->size()) return false;
  return std::equal(base->begin(), base->end(), child->begin());
}

}  // namespace sandbox
