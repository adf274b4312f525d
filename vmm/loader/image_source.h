// Where a boot image's bytes come from: an open file, read in place (only
// the parts that are loaded, straight into guest RAM), or bytes already in
// memory (tests). Reads are checked against the image's size.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::vmm {

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual uint64_t size() const = 0;
  // Fills `out` from `offset`; fails unless all of it lies in the image.
  virtual Status ReadAt(uint64_t offset, std::span<uint8_t> out) const = 0;
  bool Holds(uint64_t offset, uint64_t length) const { return offset <= size() && length <= size() - offset; }
  // The open file behind the image, for mapping parts of it; -1 for none.
  virtual int fd() const { return -1; }
};

class BytesImage final : public ImageSource {
 public:
  explicit BytesImage(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out) const override;

 private:
  std::span<const uint8_t> bytes_;
};

class FileImage final : public ImageSource {
 public:
  // `what` names the file in errors ("kernel /path").
  static Result<FileImage> Open(const std::string& path, const std::string& what);
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out) const override;
  int fd() const override { return fd_.get(); }

 private:
  FileImage(UniqueFd fd, uint64_t size, std::string what) : fd_(std::move(fd)), size_(size), what_(std::move(what)) {}
  UniqueFd fd_;
  uint64_t size_;
  std::string what_;
};

}  // namespace sandbox::vmm
