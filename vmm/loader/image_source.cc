#include "vmm/loader/image_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace sandbox::vmm {

Status BytesImage::ReadAt(uint64_t offset, std::span<uint8_t> out) const {
  if (!Holds(offset, out.size())) {
    return InvalidArgument(fmt::format("read of {} bytes at {:#x} past the image", out.size(), offset));
  }
  std::memcpy(out.data(), bytes_.data() + offset, out.size());
  return Status::Ok();
}

Result<FileImage> FileImage::Open(const std::string& path, const std::string& what) {
  // O_NONBLOCK: a FIFO given as a kernel is refused below instead of blocking the open.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return ErrnoStatus("open", what);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return ErrnoStatus("fstat", what);
  if (!S_ISREG(info.st_mode)) return InvalidArgument(what + ": not a regular file");
  return FileImage(std::move(fd), static_cast<uint64_t>(info.st_size), what);
}

Status FileImage::ReadAt(uint64_t offset, std::span<uint8_t> out) const {
  if (!Holds(offset, out.size())) {
    return InvalidArgument(fmt::format("{}: read of {} bytes at {:#x} past its end", what_, out.size(), offset));
  }
  while (!out.empty()) {
    const ssize_t got = ::pread(fd_.get(), out.data(), out.size(), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoStatus("pread", what_);
    if (got == 0) return InvalidArgument(what_ + ": the file shrank while it was read");
    out = out.subspan(static_cast<size_t>(got));
    offset += static_cast<uint64_t>(got);
  }
  return Status::Ok();
}

}  // namespace sandbox::vmm
