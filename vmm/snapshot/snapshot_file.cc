#include "vmm/snapshot/snapshot_file.h"

#include <sys/stat.h>

#include <array>
#include <set>

#include "common/base/file_util.h"
#include "common/base/sha2.h"

namespace sandbox::vmm {
namespace {

constexpr std::array<char, 8> kMagic{'S', 'B', 'X', 'S', 'N', 'A', 'P', '\0'};
using Digest = std::array<uint8_t, SHA256_DIGEST_SIZE>;
constexpr size_t kHeaderSize = kMagic.size() + 4 + 4 + 8 + std::tuple_size_v<Digest>;

template <typename T>
void Append(std::string& out, T value) {
  static_assert(std::is_integral_v<T>);
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Nettle's SHA-256 needs no library-wide initialisation: OpenSSL 3's first
// digest read openssl.cnf and loaded a provider (a tenth of a second of
// every restore under nested emulation; docs/measurements.md, stop 41).
Digest Sha256(std::string_view bytes) {
  Digest digest{};
  sha256_ctx context;
  sha256_init(&context);
  sha256_update(&context, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data()));
  Sha256Final(&context, digest.data());
  return digest;
}

// Reads little-endian integers and byte runs from a bounded buffer; a read
// past the end fails instead of reading beyond it.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Read(T& value) {
    if (bytes_.size() - offset_ < sizeof(T)) return false;
    value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      value |= static_cast<T>(static_cast<uint8_t>(bytes_[offset_ + i])) << (8 * i);
    }
    offset_ += sizeof(T);
    return true;
  }
  bool Take(uint64_t size, std::string_view& out) {
    if (bytes_.size() - offset_ < size) return false;
    out = bytes_.substr(offset_, size);
    offset_ += size;
    return true;
  }
  size_t remaining() const { return bytes_.size() - offset_; }

 private:
  std::string_view bytes_;
  size_t offset_ = 0;
};

}  // namespace

void SnapshotWriter::Add(const std::string& name, std::span<const uint8_t> bytes) {
  sections_.emplace_back(name, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Result<std::string> SnapshotWriter::Serialize() const {
  if (sections_.size() > kMaxSnapshotSections) return InvalidArgument("snapshot: too many sections");
  std::string payload;
  std::set<std::string, std::less<>> names;
  for (const auto& [name, bytes] : sections_) {
    if (name.empty() || name.size() > kMaxSectionName) return InvalidArgument("snapshot: bad section name \"" + name + "\"");
    if (!names.insert(name).second) return InvalidArgument("snapshot: section " + name + " added twice");
    Append(payload, static_cast<uint16_t>(name.size()));
    payload += name;
    Append(payload, static_cast<uint64_t>(bytes.size()));
    payload.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  if (payload.size() > kMaxSnapshotPayload) return InvalidArgument("snapshot: state larger than its 16 MiB bound");
  std::string file(kMagic.data(), kMagic.size());
  Append(file, kSnapshotFormatVersion);
  Append(file, static_cast<uint32_t>(sections_.size()));
  Append(file, static_cast<uint64_t>(payload.size()));
  const Digest digest = Sha256(payload);
  file.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return file + payload;
}

Status SnapshotWriter::Write(const std::string& path) const {
  SANDBOX_ASSIGN_OR_RETURN(std::string bytes, Serialize());
  return WriteFileAtomic(path, bytes, 0600);
}

Result<SnapshotReader> SnapshotReader::Open(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return ErrnoStatus("stat", "snapshot state " + path);
  if (!S_ISREG(info.st_mode)) return InvalidArgument("snapshot state " + path + ": not a regular file");
  if (static_cast<uint64_t>(info.st_size) > kHeaderSize + kMaxSnapshotPayload) {
    return InvalidArgument("snapshot state " + path + ": " + std::to_string(info.st_size) +
                           " bytes, more than a state file can hold");
  }
  SANDBOX_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  return Parse(std::move(bytes), path);
}

Result<SnapshotReader> SnapshotReader::Parse(std::string bytes, const std::string& source) {
  auto refuse = [&](const std::string& why) { return InvalidArgument("snapshot state " + source + ": " + why); };
  SnapshotReader reader;
  reader.source_ = source;
  reader.bytes_ = std::move(bytes);
  Cursor header(reader.bytes_);
  std::string_view magic;
  uint32_t version = 0, count = 0;
  uint64_t payload_size = 0;
  std::string_view digest;
  if (!header.Take(kMagic.size(), magic) || magic != std::string_view(kMagic.data(), kMagic.size())) {
    return refuse("not a sandbox-vmm snapshot (bad magic)");
  }
  if (!header.Read(version) || !header.Read(count) || !header.Read(payload_size) ||
      !header.Take(std::tuple_size_v<Digest>, digest)) {
    return refuse("truncated header");
  }
  if (version != kSnapshotFormatVersion) {
    return refuse("format version " + std::to_string(version) + ", this sandbox-vmm reads version " +
                  std::to_string(kSnapshotFormatVersion));
  }
  if (count > kMaxSnapshotSections) return refuse(std::to_string(count) + " sections, more than the bound");
  if (payload_size != header.remaining()) {
    return refuse("the header says " + std::to_string(payload_size) + " payload bytes, the file has " +
                  std::to_string(header.remaining()));
  }
  const std::string_view payload = std::string_view(reader.bytes_).substr(kHeaderSize);
  const Digest actual = Sha256(payload);
  if (std::string_view(reinterpret_cast<const char*>(actual.data()), actual.size()) != digest) {
    return refuse("checksum mismatch (the file is corrupt or was modified)");
  }
  Cursor sections(payload);
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t name_size = 0;
    uint64_t size = 0;
    std::string_view name, data;
    if (!sections.Read(name_size) || name_size == 0 || name_size > kMaxSectionName ||
        !sections.Take(name_size, name) || !sections.Read(size) || !sections.Take(size, data)) {
      return refuse("section " + std::to_string(i) + " is malformed");
    }
    const size_t offset = static_cast<size_t>(data.data() - reader.bytes_.data());
    if (!reader.sections_.emplace(std::string(name), std::make_pair(offset, data.size())).second) {
      return refuse("section " + std::string(name) + " appears twice");
    }
  }
  if (sections.remaining() != 0) return refuse("bytes after the last section");
  return reader;
}

Result<std::span<const uint8_t>> SnapshotReader::Get(const std::string& name) const {
  auto it = sections_.find(name);
  if (it == sections_.end()) return InvalidArgument("snapshot state " + source_ + ": no section " + name);
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes_.data()) + it->second.first,
                                  it->second.second);
}

Result<uint64_t> SnapshotReader::GetU64(const std::string& name) const {
  uint64_t value = 0;
  SANDBOX_RETURN_IF_ERROR(GetStruct(name, value));
  return value;
}

Status SnapshotReader::SizeMismatch(const std::string& name, size_t got, size_t want) const {
  return InvalidArgument("snapshot state " + source_ + ": section " + name + " holds " + std::to_string(got) +
                         " bytes, this sandbox-vmm expects " + std::to_string(want) +
                         " (taken by a different build or kernel headers?)");
}

}  // namespace sandbox::vmm
