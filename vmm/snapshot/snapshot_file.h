// The state file of a VM snapshot (issue 18's templates): named binary
// sections (a vCPU's registers as KVM gives them, the in-kernel irqchips and
// clock, each device's state), behind a header a restore checks before it
// trusts a byte: magic, format version, section count, payload size and the
// payload's SHA-256. Guest RAM is a separate file (mapped copy-on-write by a
// restore); its size is one of the sections, so it is checked too.
//
// Layout: "SBXSNAP\0" | u32 version | u32 sections | u64 payload bytes |
// 32-byte SHA-256 of the payload | payload. The payload is the sections in
// order, each u16 name length | name | u64 size | bytes. Little-endian.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "common/base/status.h"

namespace sandbox::vmm {

inline constexpr uint32_t kSnapshotFormatVersion = 1;
// Bounds a restore applies before reading further: a state file holds
// registers and device state, never guest RAM.
inline constexpr uint32_t kMaxSnapshotSections = 4096;
inline constexpr uint64_t kMaxSnapshotPayload = 16ull << 20;
inline constexpr size_t kMaxSectionName = 128;

class SnapshotWriter {
 public:
  // A section's name is unique; adding one twice is an error at Write.
  void Add(const std::string& name, std::span<const uint8_t> bytes);
  template <typename T>
  void AddStruct(const std::string& name, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    Add(name, {reinterpret_cast<const uint8_t*>(&value), sizeof(T)});
  }
  void AddU64(const std::string& name, uint64_t value) { AddStruct(name, value); }

  // The whole file's bytes: header, then payload.
  Result<std::string> Serialize() const;
  // Written to a temporary name and renamed: a reader never sees half a file.
  Status Write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, std::vector<uint8_t>>> sections_;
};

class SnapshotReader {
 public:
  // Reads and checks the file; every refusal names the file and the cause.
  static Result<SnapshotReader> Open(const std::string& path);
  // The same checks on bytes already read; `source` names them in errors.
  static Result<SnapshotReader> Parse(std::string bytes, const std::string& source);

  bool Has(const std::string& name) const { return sections_.contains(name); }
  Result<std::span<const uint8_t>> Get(const std::string& name) const;
  // A section that must hold exactly one T (a kernel struct of this build's
  // UAPI headers): a size that differs is refused by name.
  template <typename T>
  Status GetStruct(const std::string& name, T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    Result<std::span<const uint8_t>> bytes = Get(name);
    if (!bytes.ok()) return bytes.status();
    if (bytes->size() != sizeof(T)) return SizeMismatch(name, bytes->size(), sizeof(T));
    std::memcpy(&value, bytes->data(), sizeof(T));
    return Status::Ok();
  }
  Result<uint64_t> GetU64(const std::string& name) const;

 private:
  SnapshotReader() = default;
  Status SizeMismatch(const std::string& name, size_t got, size_t want) const;

  std::string source_;
  std::string bytes_;
  // Offset and size in bytes_ (offsets, not pointers: the reader moves).
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> sections_;
};

}  // namespace sandbox::vmm
