#include "vmm/memory/guest_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

namespace sandbox::vmm {
namespace {

constexpr uint64_t kPageSize = 4096;

}  // namespace

std::vector<std::pair<uint64_t, uint64_t>> GuestMemory::LayoutFor(uint64_t size) {
  std::vector<std::pair<uint64_t, uint64_t>> layout;
  const uint64_t low = std::min(size, kMmioGapStart);
  layout.emplace_back(0, low);
  if (size > low) layout.emplace_back(kMmioGapEnd, size - low);
  return layout;
}

Result<GuestMemory> GuestMemory::Create(uint64_t size) {
  if (size == 0 || size % 4096 != 0) return InvalidArgument("guest memory size must be a non-zero multiple of 4 KiB");
  return Map(LayoutFor(size));
}

Result<GuestMemory> GuestMemory::CreateForTest(uint64_t guest_address, uint64_t size) {
  return Map({{guest_address, size}});
}

Result<GuestMemory> GuestMemory::Map(std::vector<std::pair<uint64_t, uint64_t>> layout) {
  GuestMemory memory;
  for (const auto& [address, size] : layout) memory.size_ += size;
  memory.memfd_ = UniqueFd(memfd_create("sandbox-vmm-ram", MFD_CLOEXEC));
  if (!memory.memfd_.valid()) return ErrnoStatus("memfd_create", "guest RAM");
  if (ftruncate(memory.memfd_.get(), static_cast<off_t>(memory.size_)) != 0) {
    return ErrnoStatus("ftruncate", fmt::format("guest RAM memfd to {} bytes", memory.size_));
  }
  // MAP_NORESERVE: RAM the guest never touches costs the host nothing.
  void* mapping = mmap(nullptr, memory.size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                       memory.memfd_.get(), 0);
  if (mapping == MAP_FAILED) return ErrnoStatus("mmap", fmt::format("{} bytes of guest RAM", memory.size_));
  memory.mapping_ = static_cast<uint8_t*>(mapping);
  memory.SetRegions(layout);
  return memory;
}

Result<UniqueFd> GuestMemory::OpenSnapshotFile(const std::string& path, uint64_t size) {
  if (size == 0 || size % 4096 != 0) return InvalidArgument("guest memory size must be a non-zero multiple of 4 KiB");
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) return ErrnoStatus("open", "snapshot memory " + path);
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) return ErrnoStatus("fstat", "snapshot memory " + path);
  if (!S_ISREG(info.st_mode) || static_cast<uint64_t>(info.st_size) != size) {
    return InvalidArgument(fmt::format("snapshot memory {}: {} bytes, the snapshot's guest has {}", path,
                                       static_cast<uint64_t>(info.st_size), size));
  }
  return file;
}

Result<GuestMemory::FileExtents> GuestMemory::DataExtents(int file, uint64_t size, const std::string& path) {
  FileExtents extents;
  for (off_t offset = 0; static_cast<uint64_t>(offset) < size;) {
    const off_t data = ::lseek(file, offset, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;
    if (data < 0) return ErrnoStatus("lseek", "snapshot memory " + path);
    const off_t hole = ::lseek(file, data, SEEK_HOLE);
    if (hole < 0) return ErrnoStatus("lseek", "snapshot memory " + path);
    extents.emplace_back(static_cast<uint64_t>(data), std::min(size, static_cast<uint64_t>(hole)));
    offset = hole;
  }
  return extents;
}

Result<GuestMemory> GuestMemory::MapSnapshotFile(const std::string& path, uint64_t size) {
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd file, OpenSnapshotFile(path, size));
  void* mapping = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, file.get(), 0);
  if (mapping == MAP_FAILED) return ErrnoStatus("mmap", "snapshot memory " + path);
  GuestMemory memory;
  memory.size_ = size;
  memory.mapping_ = static_cast<uint8_t*>(mapping);
  memory.SetRegions(LayoutFor(size));
  SANDBOX_ASSIGN_OR_RETURN(const FileExtents extents, DataExtents(file.get(), size, path));
  memory.SetRestoredData(extents);
  return memory;
}

Result<GuestMemory> GuestMemory::CopySnapshotFile(const std::string& path, uint64_t size,
                                                  const std::vector<GuestRange>& copy_on_write) {
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd file, OpenSnapshotFile(path, size));
  SANDBOX_ASSIGN_OR_RETURN(GuestMemory memory, Create(size));
  for (const GuestRange& range : copy_on_write) {
    // The memory file is laid out as the memfd is: the same offset.
    SANDBOX_RETURN_IF_ERROR(CheckWholePages(size, range).Wrap("copy-on-write range"));
    SANDBOX_ASSIGN_OR_RETURN(const uint64_t offset, memory.MappingOffset(range.address, range.size));
    SANDBOX_RETURN_IF_ERROR(memory.MapFileCopyOnWrite(file.get(), offset, range));
  }
  SANDBOX_ASSIGN_OR_RETURN(const FileExtents extents, DataExtents(file.get(), size, path));
  memory.SetRestoredData(extents);
  // Holes read as zeros, which the new memfd already is; the mapped ranges
  // are skipped: the memfd keeps a hole there.
  for (const auto& [data, hole] : extents) {
    for (const auto& [begin, end] : memory.OutsideCopyOnWrite(data, hole)) {
      SANDBOX_RETURN_IF_ERROR(memory.CopyFromFile(file.get(), begin, end, path));
    }
  }
  return memory;
}

std::vector<std::pair<uint64_t, uint64_t>> GuestMemory::OutsideCopyOnWrite(uint64_t begin, uint64_t end) const {
  std::vector<std::pair<uint64_t, uint64_t>> pieces;
  for (const auto& [mapped_begin, mapped_end] : copy_on_write_) {
    if (mapped_end <= begin || mapped_begin >= end) continue;
    if (mapped_begin > begin) pieces.emplace_back(begin, mapped_begin);
    begin = std::min(end, mapped_end);
  }
  if (begin < end) pieces.emplace_back(begin, end);
  return pieces;
}

const std::pair<uint64_t, uint64_t>* GuestMemory::CopyOnWriteAfter(uint64_t offset) const {
  for (const auto& range : copy_on_write_) {
    if (range.second > offset) return &range;
  }
  return nullptr;
}

Status GuestMemory::CopyFromFile(int file, uint64_t begin, uint64_t end, const std::string& path) {
  // In the kernel (sendfile to the memfd's offset): no page faults in
  // this process, whose mapping then faults in only what the guest touches.
  if (begin >= end) return Status::Ok();
  if (::lseek(memfd_.get(), static_cast<off_t>(begin), SEEK_SET) != static_cast<off_t>(begin)) {
    return ErrnoStatus("lseek", "guest RAM memfd");
  }
  for (off_t done = static_cast<off_t>(begin); static_cast<uint64_t>(done) < end;) {
    const ssize_t sent = ::sendfile(memfd_.get(), file, &done, static_cast<size_t>(end - static_cast<uint64_t>(done)));
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return ErrnoStatus("sendfile", "snapshot memory " + path + " to guest RAM");
  }
  return Status::Ok();
}

void GuestMemory::SetRestoredData(const FileExtents& extents) {
  restored_data_.clear();
  for (const auto& [begin, end] : extents) {
    for (const MemoryRegion& region : regions_) {
      const uint64_t from = std::max(begin, region.memfd_offset);
      const uint64_t to = std::min(end, region.memfd_offset + region.size);
      if (from < to) restored_data_.push_back({region.guest_address + (from - region.memfd_offset), to - from});
    }
  }
}

void GuestMemory::SetRegions(const std::vector<std::pair<uint64_t, uint64_t>>& layout) {
  madvise(mapping_, size_, MADV_DONTDUMP);
  uint64_t offset = 0;
  for (const auto& [address, size] : layout) {
    regions_.push_back({address, size, mapping_ + offset, offset});
    offset += size;
  }
  backend_regions_ = regions_;
}

Status GuestMemory::CheckWholePages(uint64_t size, GuestRange range) {
  bool inside = false;
  for (const auto& [address, length] : LayoutFor(size)) {
    inside = inside || (range.address >= address && range.address - address < length &&
                        range.size <= length - (range.address - address));
  }
  if (range.size == 0 || range.address % kPageSize != 0 || range.size % kPageSize != 0 || !inside) {
    return InvalidArgument(fmt::format("{:#x}+{:#x} is not whole pages of guest RAM", range.address, range.size));
  }
  return Status::Ok();
}

Status GuestMemory::MapFileCopyOnWrite(int file, uint64_t file_offset, GuestRange range) {
  Status whole_pages = CheckWholePages(size_, range);
  if (!whole_pages.ok()) return whole_pages.Wrap("copy-on-write range");
  if (file_offset % kPageSize != 0) {
    return InvalidArgument(fmt::format("copy-on-write range: file offset {:#x} is not page-aligned", file_offset));
  }
  if (!memfd_.valid()) return FailedPrecondition("copy-on-write range: guest RAM has no memfd");
  SANDBOX_ASSIGN_OR_RETURN(const uint64_t begin, MappingOffset(range.address, range.size));
  const uint64_t end = begin + range.size;
  if (OutsideCopyOnWrite(begin, end) != std::vector<std::pair<uint64_t, uint64_t>>{{begin, end}}) {
    return InvalidArgument(fmt::format("copy-on-write range {:#x}+{:#x} overlaps one mapped already", range.address,
                                       range.size));
  }
  void* mapped = mmap(mapping_ + begin, range.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, file,
                      static_cast<off_t>(file_offset));
  if (mapped == MAP_FAILED) return ErrnoStatus("mmap", "guest RAM, copy-on-write from a file");
  madvise(mapped, range.size, MADV_DONTDUMP);
  copy_on_write_.insert(std::upper_bound(copy_on_write_.begin(), copy_on_write_.end(), std::pair(begin, end)),
                        std::pair(begin, end));
  // The back-end's view: each region less the mapped ranges, in pieces.
  backend_regions_.clear();
  for (const MemoryRegion& region : regions_) {
    for (const auto& [from, to] : OutsideCopyOnWrite(region.memfd_offset, region.memfd_offset + region.size)) {
      const uint64_t skipped = from - region.memfd_offset;
      backend_regions_.push_back({region.guest_address + skipped, to - from, region.host + skipped, from});
    }
  }
  return Status::Ok();
}

std::pair<uint64_t, uint64_t> GuestMemory::NextData(uint64_t offset, uint64_t end) const {
  if (!memfd_.valid()) return {offset, end};
  // A copy-on-write range is data, though the memfd has a hole there.
  uint64_t mapped_begin = end, mapped_end = end;
  if (const auto* mapped = CopyOnWriteAfter(offset); mapped != nullptr && mapped->first < end) {
    mapped_begin = std::max(offset, mapped->first);
    mapped_end = std::min(end, mapped->second);
    if (mapped_begin == offset) return {offset, mapped_end};
  }
  // Pages the guest never touched are memfd holes: skipped without reading
  // (reading would allocate them).
  const off_t data = ::lseek(memfd_.get(), static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0 || static_cast<uint64_t>(data) >= mapped_begin) return {mapped_begin, mapped_end};
  const off_t hole = ::lseek(memfd_.get(), data, SEEK_HOLE);
  return {static_cast<uint64_t>(data), hole < 0 ? mapped_begin : std::min(mapped_begin, static_cast<uint64_t>(hole))};
}

namespace {

bool IsZero(const uint8_t* bytes, uint64_t length) {
  static constexpr uint8_t kZeros[kPageSize] = {};
  return std::memcmp(bytes, kZeros, length) == 0;
}

Status WriteRange(int fd, const uint8_t* from, uint64_t length, uint64_t offset) {
  for (uint64_t done = 0; done < length;) {
    const ssize_t wrote = ::pwrite(fd, from + done, length - done, static_cast<off_t>(offset + done));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return ErrnoStatus("pwrite", "guest RAM to the snapshot's memory file");
    done += static_cast<uint64_t>(wrote);
  }
  return Status::Ok();
}

}  // namespace

Status GuestMemory::WriteAllTo(int fd) const {
  // Skipped zero pages must read as zeros: holes, not what a file held.
  // (lseek, not fstat: the VMM's seccomp filters allow no stat call.)
  const off_t existing = ::lseek(fd, 0, SEEK_END);
  if (existing < 0) return ErrnoStatus("lseek", "the snapshot's memory file");
  if (existing != 0) return FailedPrecondition("the snapshot's memory file is not empty");
  for (uint64_t offset = 0; offset < size_;) {
    const auto [data, end] = NextData(offset, size_);
    auto page_length = [end = end](uint64_t page) { return std::min(kPageSize, end - page); };
    for (uint64_t page = data; page < end;) {
      if (IsZero(mapping_ + page, page_length(page))) {
        page += page_length(page);
        continue;
      }
      uint64_t run = page + page_length(page);
      while (run < end && !IsZero(mapping_ + run, page_length(run))) run += page_length(run);
      SANDBOX_RETURN_IF_ERROR(WriteRange(fd, mapping_ + page, run - page, page));
      page = run;
    }
    offset = end;
  }
  // The file's size is the guest's, whatever its last page held.
  if (size_ > 0) {
    const uint64_t last = size_ - std::min(size_, kPageSize);
    SANDBOX_RETURN_IF_ERROR(WriteRange(fd, mapping_ + last, size_ - last, last));
  }
  return Status::Ok();
}

GuestMemory::GuestMemory(GuestMemory&& other) noexcept { *this = std::move(other); }

GuestMemory& GuestMemory::operator=(GuestMemory&& other) noexcept {
  if (this != &other) {
    Unmap();
    memfd_ = std::move(other.memfd_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    size_ = std::exchange(other.size_, 0);
    regions_ = std::move(other.regions_);
    other.regions_.clear();
    backend_regions_ = std::move(other.backend_regions_);
    other.backend_regions_.clear();
    copy_on_write_ = std::exchange(other.copy_on_write_, {});
    restored_data_ = std::exchange(other.restored_data_, {});
  }
  return *this;
}

GuestMemory::~GuestMemory() { Unmap(); }

void GuestMemory::Unmap() {
  if (mapping_ != nullptr) munmap(mapping_, size_);
  mapping_ = nullptr;
}

Result<std::span<uint8_t>> GuestMemory::Translate(uint64_t address, uint64_t length) const {
  return TranslateIn(regions_, address, length);
}

Result<std::span<uint8_t>> GuestMemory::TranslateForBackend(uint64_t address, uint64_t length) const {
  return TranslateIn(backend_regions_, address, length);
}

Result<std::span<uint8_t>> GuestMemory::TranslateIn(const std::vector<MemoryRegion>& regions, uint64_t address,
                                                    uint64_t length) {
  for (const MemoryRegion& region : regions) {
    if (address < region.guest_address) continue;
    const uint64_t offset = address - region.guest_address;
    // offset + length <= size, written so that it cannot overflow.
    if (offset < region.size && length <= region.size - offset) {
      return std::span<uint8_t>(region.host + offset, length);
    }
  }
  return InvalidArgument(fmt::format("guest address range {:#x}+{:#x} is outside guest RAM", address, length));
}

Status GuestMemory::Read(uint64_t address, std::span<uint8_t> out) const {
  SANDBOX_ASSIGN_OR_RETURN(std::span<uint8_t> source, Translate(address, out.size()));
  if (!out.empty()) std::memcpy(out.data(), source.data(), out.size());
  return Status::Ok();
}

Status GuestMemory::Write(uint64_t address, std::span<const uint8_t> data) const {
  SANDBOX_ASSIGN_OR_RETURN(std::span<uint8_t> target, Translate(address, data.size()));
  if (!data.empty()) std::memcpy(target.data(), data.data(), data.size());
  return Status::Ok();
}

Result<uint64_t> GuestMemory::MappingOffset(uint64_t address, uint64_t length) const {
  SANDBOX_ASSIGN_OR_RETURN(std::span<uint8_t> view, Translate(address, length));
  return static_cast<uint64_t>(view.data() - mapping_);
}

Result<uint64_t> GuestMemory::Discard(uint64_t address, uint64_t length) const {
  SANDBOX_ASSIGN_OR_RETURN(const uint64_t offset, MappingOffset(address, length));
  const uint64_t begin = (offset + kPageSize - 1) / kPageSize * kPageSize;
  const uint64_t end = (offset + length) / kPageSize * kPageSize;
  if (begin >= end) return uint64_t{0};
  // The memfd's pages go from every view of it (a vhost-user back-end's
  // too); a private mapping's copies go, and it reads its file again.
  auto discard = [this](uint64_t from, uint64_t to, bool private_mapping) -> Status {
    if (from >= to) return Status::Ok();
    if (memfd_.valid() && !private_mapping) {
      if (::fallocate(memfd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                      static_cast<off_t>(to - from)) != 0) {
        return ErrnoStatus("fallocate", "guest RAM memfd, punching a hole");
      }
    } else if (::madvise(mapping_ + from, to - from, MADV_DONTNEED) != 0) {
      return ErrnoStatus("madvise", "guest RAM, MADV_DONTNEED");
    }
    return Status::Ok();
  };
  uint64_t from = begin;
  for (const auto& [mapped_begin, mapped_end] : copy_on_write_) {
    if (mapped_end <= from || mapped_begin >= end) continue;
    const uint64_t private_begin = std::max(from, mapped_begin);
    const uint64_t private_end = std::min(end, mapped_end);
    SANDBOX_RETURN_IF_ERROR(discard(from, private_begin, false));
    SANDBOX_RETURN_IF_ERROR(discard(private_begin, private_end, true));
    from = private_end;
  }
  SANDBOX_RETURN_IF_ERROR(discard(from, end, false));
  return end - begin;
}

}  // namespace sandbox::vmm
