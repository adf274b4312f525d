#include "vmm/virtio/devices/blk.h"

#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fmt/format.h>

namespace sandbox::vmm {
namespace {

constexpr uint64_t kRequestHeaderSize = 16;
constexpr uint32_t kMaxSegmentSize = 1u << 20;

struct RequestHeader {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};
static_assert(sizeof(RequestHeader) == kRequestHeaderSize);

}  // namespace

Result<std::shared_ptr<BlockDevice>> BlockDevice::Open(const std::string& id, const std::string& path,
                                                       bool read_only) {
  std::shared_ptr<BlockDevice> device(new BlockDevice());
  device->id_ = id;
  device->path_ = path;
  device->read_only_ = read_only;
  device->fd_ = UniqueFd(::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!device->fd_.valid()) return ErrnoStatus("open", fmt::format("disk {}", path));
  // Two VMs writing one disk corrupt it; readers may share.
  if (flock(device->fd_.get(), (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    return ErrnoStatus("flock", fmt::format("disk {} (in use by another VM?)", path));
  }
  struct stat info {};
  if (fstat(device->fd_.get(), &info) != 0) return ErrnoStatus("fstat", path);
  if (!S_ISREG(info.st_mode) && !S_ISBLK(info.st_mode)) {
    return InvalidArgument(fmt::format("disk {} is not a regular file or block device", path));
  }
  uint64_t size = static_cast<uint64_t>(info.st_size);
  if (S_ISBLK(info.st_mode)) {
    const off_t end = lseek(device->fd_.get(), 0, SEEK_END);
    if (end < 0) return ErrnoStatus("lseek", path);
    size = static_cast<uint64_t>(end);
  }
  if (size == 0 || size % kSectorSize != 0) {
    return InvalidArgument(fmt::format("disk {}: size {} is not a non-zero multiple of 512 bytes", path, size));
  }
  device->config_.capacity = size / kSectorSize;
  device->config_.size_max = kMaxSegmentSize;
  device->config_.seg_max = Virtqueue::kMaxSize - 2;
  return device;
}

uint64_t BlockDevice::offered_features() const {
  uint64_t features = kVirtioFeatureVersion1 | kVirtioFeatureIndirectDescriptors | (1ull << VIRTIO_BLK_F_FLUSH) |
                      (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX);
  if (read_only_) features |= 1ull << VIRTIO_BLK_F_RO;
  return features;
}

std::span<const uint8_t> BlockDevice::config_bytes() const {
  return {reinterpret_cast<const uint8_t*>(&config_), sizeof(config_)};
}

void BlockDevice::ProcessQueue(size_t index) {
  if (!active_ || index != 0) return;
  DrainQueue(*active_, index, [this](const DescriptorChain& chain) { return HandleRequest(chain); });
}

uint8_t BlockDevice::Transfer(bool write, uint64_t sector, ChainCursor& data, uint64_t length) {
  if (length % kSectorSize != 0) return VIRTIO_BLK_S_IOERR;
  const uint64_t sectors = length / kSectorSize;
  const uint64_t capacity = config_.capacity;
  if (sector > capacity || sectors > capacity - sector) {
    guest_warnings_.Warn("blk {}: request for sectors {}+{} beyond capacity {}", id_, sector, sectors, capacity);
    return VIRTIO_BLK_S_IOERR;
  }
  auto spans = data.Take(length);
  if (!spans.ok()) return VIRTIO_BLK_S_IOERR;
  off_t offset = static_cast<off_t>(sector * kSectorSize);
  for (std::span<uint8_t> span : *spans) {
    size_t done = 0;
    while (done < span.size()) {
      const ssize_t moved = write ? ::pwrite(fd_.get(), span.data() + done, span.size() - done, offset)
                                  : ::pread(fd_.get(), span.data() + done, span.size() - done, offset);
      if (moved < 0 && errno == EINTR) continue;
      if (moved <= 0) {
        guest_warnings_.Warn("blk {}: {} at offset {} failed", id_, write ? "pwrite" : "pread", offset);
        return VIRTIO_BLK_S_IOERR;
      }
      done += static_cast<size_t>(moved);
      offset += moved;
    }
  }
  return VIRTIO_BLK_S_OK;
}

uint32_t BlockDevice::HandleRequest(const DescriptorChain& chain) {
  const GuestMemory& memory = *active_->memory;
  ChainCursor reader(memory, chain, ChainCursor::Direction::kReadable);
  ChainCursor writer(memory, chain, ChainCursor::Direction::kWritable);
  RequestHeader header{};
  // Without a header and a status byte there is nothing to answer.
  if (chain.writable_bytes == 0 ||
      reader.CopyOut({reinterpret_cast<uint8_t*>(&header), sizeof(header)}) != sizeof(header)) {
    guest_warnings_.Warn("blk {}: request without a header or status byte", id_);
    return 0;
  }
  const uint64_t data_in = chain.writable_bytes - 1;  // the last writable byte is the status
  uint8_t status = VIRTIO_BLK_S_OK;
  switch (header.type) {
    case VIRTIO_BLK_T_IN:
      status = Transfer(false, header.sector, writer, data_in);
      break;
    case VIRTIO_BLK_T_OUT:
      status = read_only_ ? VIRTIO_BLK_S_IOERR : Transfer(true, header.sector, reader, reader.remaining());
      break;
    case VIRTIO_BLK_T_FLUSH:
      status = read_only_ || ::fdatasync(fd_.get()) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
      break;
    case VIRTIO_BLK_T_GET_ID: {
      char serial[VIRTIO_BLK_ID_BYTES] = {};
      id_.copy(serial, sizeof(serial));
      writer.CopyIn({reinterpret_cast<const uint8_t*>(serial), std::min<uint64_t>(data_in, sizeof(serial))});
      break;
    }
    default:
      status = VIRTIO_BLK_S_UNSUPP;
      break;
  }
  // The status byte sits right after the data the device wrote (if any).
  const uint64_t skip = data_in - std::min(data_in, writer.consumed());
  if (skip > 0) (void)writer.Take(skip);
  writer.CopyIn({&status, 1});
  return static_cast<uint32_t>(header.type == VIRTIO_BLK_T_IN || header.type == VIRTIO_BLK_T_GET_ID
                                   ? writer.consumed()
                                   : 1);
}

}  // namespace sandbox::vmm
