// GuestMemory: the guest's RAM, one memfd mapped into this process, split into
// regions around the 32-bit MMIO gap. Every access from device code goes
// through Translate(), which checks bounds and overflow: the guest is untrusted
// and hands us arbitrary addresses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::vmm {

struct GuestRange {
  uint64_t address = 0;
  uint64_t size = 0;
};

struct MemoryRegion {
  uint64_t guest_address = 0;
  uint64_t size = 0;
  uint8_t* host = nullptr;  // inside the one mapping
  uint64_t memfd_offset = 0;
};

class GuestMemory {
 public:
  // The MMIO gap: [kMmioGapStart, 4 GiB) is never RAM.
  static constexpr uint64_t kMmioGapStart = 0xc000'0000;
  static constexpr uint64_t kMmioGapEnd = 0x1'0000'0000;

  // RAM of `size` bytes: below the gap first, the rest from 4 GiB up.
  static Result<GuestMemory> Create(uint64_t size);
  // RAM of `size` bytes (the same layout) from a snapshot's memory file,
  // mapped copy-on-write: pages the guest does not write stay shared, through
  // the page cache, with every VM restored from the file. It has no memfd,
  // so a vhost-user back-end cannot map it.
  static Result<GuestMemory> MapSnapshotFile(const std::string& path, uint64_t size);
  // The same, copied into a new memfd, for a VM with vhost-user devices
  // (their back-ends map guest RAM shared): only the file's data extents are
  // read, since a snapshot's memory file leaves zero pages as holes.
  // `copy_on_write` (the guest kernel's text, the agent's executable: never
  // an I/O buffer) is not copied but mapped copy-on-write from the file,
  // shared through the page cache by every VM restored from it, and left
  // out of backend_regions().
  static Result<GuestMemory> CopySnapshotFile(const std::string& path, uint64_t size,
                                              const std::vector<GuestRange>& copy_on_write = {});
  // The regions (guest address, size) of RAM of `size` bytes.
  static std::vector<std::pair<uint64_t, uint64_t>> LayoutFor(uint64_t size);
  // Memory for unit tests: one region at `guest_address`.
  static Result<GuestMemory> CreateForTest(uint64_t guest_address, uint64_t size);

  GuestMemory(GuestMemory&& other) noexcept;
  GuestMemory& operator=(GuestMemory&& other) noexcept;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory();

  const std::vector<MemoryRegion>& regions() const { return regions_; }
  // The regions a vhost-user back-end maps from memfd(): regions() less the
  // range mapped copy-on-write from a snapshot file (CopySnapshotFile).
  const std::vector<MemoryRegion>& backend_regions() const { return backend_regions_; }
  uint64_t size() const { return size_; }
  // The memfd behind all regions, for vhost-user backends (-1 for RAM
  // mapped from a snapshot file).
  int memfd() const { return memfd_.get(); }
  // Copies guest RAM, region after region, to `fd` (a snapshot's memory
  // file, which must be empty): pages of zeros are left as holes, so the
  // file takes the space of the memory the guest uses.
  Status WriteAllTo(int fd) const;
  // What a snapshot's memory file held as data (MapSnapshotFile,
  // CopySnapshotFile), in guest addresses: the pages a restored guest had
  // touched. Empty for new RAM.
  const std::vector<GuestRange>& restored_data() const { return restored_data_; }

  // Host view of [address, address + length); fails unless the whole range
  // lies in one region. length 0 is valid at any address inside a region.
  Result<std::span<uint8_t>> Translate(uint64_t address, uint64_t length) const;
  bool Contains(uint64_t address, uint64_t length) const { return Translate(address, length).ok(); }
  // The same within backend_regions(): what a vhost-user back-end can reach.
  Result<std::span<uint8_t>> TranslateForBackend(uint64_t address, uint64_t length) const;

  // Maps `range` of guest RAM (whole pages) copy-on-write from `file` at
  // `file_offset` (page-aligned) over the memfd's pages: shared through the
  // page cache by every VM that maps the same file, and left out of
  // backend_regions(), so only for what is never an I/O buffer (a kernel's
  // text). Only over RAM with a memfd, and apart from every range mapped so
  // far; each splits a back-end region in two (a vhost-user back-end takes
  // at most 8).
  Status MapFileCopyOnWrite(int file, uint64_t file_offset, GuestRange range);

  // Whether `range` is whole pages inside one region of RAM of `size`
  // bytes (laid out as Create does); the error names the range.
  static Status CheckWholePages(uint64_t size, GuestRange range);

  // Gives the whole pages inside [address, address + length) back to the
  // host (the range must lie in one region): they read as zeros afterwards,
  // or as the file again in a range mapped copy-on-write from one. For RAM
  // the guest said it does not use (virtio-balloon). Returns the bytes given back.
  Result<uint64_t> Discard(uint64_t address, uint64_t length) const;

  Status Read(uint64_t address, std::span<uint8_t> out) const;
  Status Write(uint64_t address, std::span<const uint8_t> data) const;

  template <class T>
  Result<T> ReadObject(uint64_t address) const {
    T value;
    SANDBOX_RETURN_IF_ERROR(Read(address, {reinterpret_cast<uint8_t*>(&value), sizeof(T)}));
    return value;
  }
  template <class T>
  Status WriteObject(uint64_t address, const T& value) const {
    return Write(address, {reinterpret_cast<const uint8_t*>(&value), sizeof(T)});
  }

 private:
  GuestMemory() = default;
  // Translate's search, over `regions`.
  static Result<std::span<uint8_t>> TranslateIn(const std::vector<MemoryRegion>& regions, uint64_t address,
                                                uint64_t length);
  static Result<GuestMemory> Map(std::vector<std::pair<uint64_t, uint64_t>> layout);
  // [begin, end) offsets of a file's data (not holes) below `size`.
  using FileExtents = std::vector<std::pair<uint64_t, uint64_t>>;
  static Result<FileExtents> DataExtents(int file, uint64_t size, const std::string& path);
  void SetRestoredData(const FileExtents& extents);
  // Copies [begin, end) of `file` to the memfd at the same offset.
  Status CopyFromFile(int file, uint64_t begin, uint64_t end, const std::string& path);
  // The snapshot memory file at `path`, checked to hold `size` bytes.
  static Result<UniqueFd> OpenSnapshotFile(const std::string& path, uint64_t size);
  // Where [offset, end) holds data rather than a memfd hole (the whole range
  // without a memfd); {end, end} when none.
  std::pair<uint64_t, uint64_t> NextData(uint64_t offset, uint64_t end) const;
  // [begin, end) less the copy-on-write ranges, in pieces, in order.
  std::vector<std::pair<uint64_t, uint64_t>> OutsideCopyOnWrite(uint64_t begin, uint64_t end) const;
  // The first copy-on-write range that ends after `offset`, or none.
  const std::pair<uint64_t, uint64_t>* CopyOnWriteAfter(uint64_t offset) const;
  void SetRegions(const std::vector<std::pair<uint64_t, uint64_t>>& layout);
  // Where [address, address + length) of guest RAM lies in the mapping
  // (and in the memfd: the same offset); fails as Translate does.
  Result<uint64_t> MappingOffset(uint64_t address, uint64_t length) const;
  void Unmap();

  UniqueFd memfd_;
  uint8_t* mapping_ = nullptr;
  uint64_t size_ = 0;
  std::vector<MemoryRegion> regions_;
  std::vector<MemoryRegion> backend_regions_;
  // [begin, end) offsets into the mapping not backed by the memfd, sorted.
  std::vector<std::pair<uint64_t, uint64_t>> copy_on_write_;
  std::vector<GuestRange> restored_data_;
};

}  // namespace sandbox::vmm
