#include "agent/file_frames.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "common/base/unique_fd.h"

namespace sandbox::agent {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPresent = 1ULL << 63;
constexpr uint64_t kFrameMask = (1ULL << 55) - 1;  // bits 0-54

// A read-only shared mapping of a whole file, unmapped on destruction.
class FileMapping {
 public:
  static Result<FileMapping> Create(int fd, uint64_t size) {
    void* address = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (address == MAP_FAILED) return ErrnoStatus("mmap", "the file whose frames are wanted");
    return FileMapping(static_cast<const uint8_t*>(address), size);
  }
  FileMapping(FileMapping&& other) noexcept : address_(std::exchange(other.address_, nullptr)), size_(other.size_) {}
  FileMapping& operator=(FileMapping&&) = delete;
  ~FileMapping() {
    if (address_ != nullptr) ::munmap(const_cast<uint8_t*>(address_), size_);
  }
  const uint8_t* address() const { return address_; }

 private:
  FileMapping(const uint8_t* address, uint64_t size) : address_(address), size_(size) {}
  const uint8_t* address_;
  uint64_t size_;
};

}  // namespace

Result<std::vector<PhysicalRange>> FileFrames(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return ErrnoStatus("fstat", "the file whose frames are wanted");
  if (!S_ISREG(info.st_mode) || info.st_size <= 0) return InvalidArgument("frames of a file: not a non-empty regular file");
  const uint64_t pages = (static_cast<uint64_t>(info.st_size) + kPageSize - 1) / kPageSize;
  SANDBOX_ASSIGN_OR_RETURN(FileMapping mapping, FileMapping::Create(fd, pages * kPageSize));
  UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return ErrnoStatus("open", "/proc/self/pagemap");
  std::vector<uint64_t> entries(pages);
  const uint64_t first = reinterpret_cast<uintptr_t>(mapping.address()) / kPageSize;
  const size_t bytes = entries.size() * sizeof(uint64_t);
  if (::pread(pagemap.get(), entries.data(), bytes, static_cast<off_t>(first * sizeof(uint64_t))) !=
      static_cast<ssize_t>(bytes)) {
    return ErrnoStatus("pread", "/proc/self/pagemap");
  }
  std::vector<uint64_t> frames;
  for (uint64_t index = 0; index < pages; ++index) {
    const uint64_t frame = entries[index] & kFrameMask;
    if ((entries[index] & kPresent) == 0 || frame == 0) {
      return FailedPrecondition("/proc/self/pagemap: page " + std::to_string(index) +
                                " of the file has no frame number (not resident, or no CAP_SYS_ADMIN)");
    }
    frames.push_back(frame);
  }
  std::sort(frames.begin(), frames.end());
  std::vector<PhysicalRange> merged;
  for (const uint64_t frame : frames) {
    const uint64_t address = frame * kPageSize;
    if (!merged.empty() && merged.back().address + merged.back().size == address) {
      merged.back().size += kPageSize;
    } else {
      merged.push_back({address, kPageSize});
    }
  }
  return merged;
}

std::vector<PhysicalRange> LargestRanges(std::vector<PhysicalRange> ranges, size_t count) {
  if (ranges.size() > count) {
    std::stable_sort(ranges.begin(), ranges.end(),
                     [](const PhysicalRange& a, const PhysicalRange& b) { return a.size > b.size; });
    ranges.resize(count);
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const PhysicalRange& a, const PhysicalRange& b) { return a.address < b.address; });
  return ranges;
}

}  // namespace sandbox::agent
