#include "common/image/layer_apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <set>
#include <vector>

#include "common/base/unique_fd.h"
#include "common/image/digest.h"
#include "common/image/in_root.h"

namespace sandbox::image {
namespace {

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaqueWhiteout[] = ".wh..wh..opq";
constexpr size_t kBlockSize = 128 * 1024;

struct ArchiveDeleter {
  void operator()(struct archive* archive) const { archive_read_free(archive); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

// Splits a tar path into components; "." and empty ones vanish, a leading "/"
// is dropped (the path is relative to the rootfs either way) and ".." is refused.
Result<std::vector<std::string>> SplitEntryPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "..") return InvalidArgument("entry \"" + path + "\" has a \"..\" component");
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

std::string JoinParts(const std::vector<std::string>& parts, size_t count) {
  std::string joined;
  for (size_t i = 0; i < count; ++i) joined += (i ? "/" : "") + parts[i];
  return joined;
}

// Removes `name` under `dir_fd` recursively, never following symlinks.
Status RemoveAllAt(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status::Ok() : ErrnoStatus("fstatat", name);
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("openat", name);
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      ::close(fd);
      return ErrnoStatus("fdopendir", name);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
    std::vector<std::string> children;
    while (struct dirent* child = ::readdir(dir)) {
      std::string child_name = child->d_name;
      if (child_name != "." && child_name != "..") children.push_back(child_name);
    }
    for (const std::string& child : children) SANDBOX_RETURN_IF_ERROR(RemoveAllAt(::dirfd(dir), child));
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) return ErrnoStatus("rmdir", name);
    return Status::Ok();
  }
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0) return ErrnoStatus("unlink", name);
  return Status::Ok();
}

// Reads the blob file for libarchive, hashing and counting every byte.
struct CompressedSource {
  UniqueFd fd;
  Hasher hasher;
  int64_t bytes = 0;
  std::vector<char> buffer = std::vector<char>(kBlockSize);
  int error = 0;

  ssize_t Read(const void** out) {
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = errno;
        return -1;
      }
      hasher.Update(buffer.data(), static_cast<size_t>(n));
      bytes += n;
      *out = buffer.data();
      return n;
    }
  }
  // Hashes whatever the decompressor did not consume (trailing bytes).
  Status Drain() {
    const void* ignored;
    while (true) {
      ssize_t n = Read(&ignored);
      if (n < 0) return ErrnoStatus("read", "layer blob", error);
      if (n == 0) return Status::Ok();
    }
  }
};

// Pulls decompressed bytes out of the outer (raw) archive for the tar reader,
// hashing them for the diff_id.
struct UncompressedSource {
  struct archive* outer = nullptr;
  Hasher hasher;
  std::vector<char> buffer = std::vector<char>(kBlockSize);
  bool at_end = false;

  ssize_t Read(const void** out) {
    if (at_end) return 0;
    la_ssize_t n = archive_read_data(outer, buffer.data(), buffer.size());
    if (n < 0) return -1;
    if (n == 0) at_end = true;
    hasher.Update(buffer.data(), static_cast<size_t>(n));
    *out = buffer.data();
    return n;
  }
};

la_ssize_t ReadCompressed(struct archive*, void* source, const void** out) {
  return static_cast<CompressedSource*>(source)->Read(out);
}
la_ssize_t ReadUncompressed(struct archive*, void* source, const void** out) {
  return static_cast<UncompressedSource*>(source)->Read(out);
}

// libarchive's message for its last error; it has none after some failures
// (a truncated header), where archive_error_string returns NULL.
const char* ArchiveError(struct archive* archive) {
  const char* message = archive_error_string(archive);
  return message != nullptr ? message : "malformed or truncated archive";
}

class LayerApplier {
 public:
  LayerApplier(int root_fd, const LayerApplyOptions& options, std::string layer)
      : root_fd_(root_fd), options_(options), layer_(std::move(layer)) {}

  Status Apply(struct archive* tar) {
    struct archive_entry* entry = nullptr;
    for (;;) {
      int result = archive_read_next_header(tar, &entry);
      if (result == ARCHIVE_EOF) break;
      if (result < ARCHIVE_WARN) return Error(std::string("reading tar: ") + ArchiveError(tar));
      const char* raw_path = archive_entry_pathname(entry);
      if (raw_path == nullptr) return Error("tar entry without a path");
      Status status = ApplyEntry(tar, entry, raw_path);
      if (!status.ok()) return status.Wrap(layer_ + ": entry \"" + raw_path + "\"");
    }
    return FinishDirectoryTimes();
  }

 private:
  Status Error(const std::string& message) const { return InvalidArgument(layer_ + ": " + message); }

  // Opens (creating as needed) the directory holding parts[0..count).
  Result<UniqueFd> EnsureDirectory(const std::vector<std::string>& parts, size_t count) {
    Result<UniqueFd> fd = OpenDirInRoot(root_fd_, JoinParts(parts, count));
    if (fd.ok() || fd.status().code() != StatusCode::kNotFound || count == 0) return fd;
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd parent, EnsureDirectory(parts, count - 1));
    if (::mkdirat(parent.get(), parts[count - 1].c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", JoinParts(parts, count));
    }
    return OpenDirInRoot(root_fd_, JoinParts(parts, count));
  }

  Status ApplyEntry(struct archive* tar, struct archive_entry* entry, const std::string& raw_path) {
    SANDBOX_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitEntryPath(raw_path));
    if (parts.empty()) return Status::Ok();  // the root itself keeps the bundle's mode
    std::string path = JoinParts(parts, parts.size());
    const std::string& name = parts.back();
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd parent, EnsureDirectory(parts, parts.size() - 1));

    if (name.starts_with(kWhiteoutPrefix)) return ApplyWhiteout(parent.get(), parts, name);
    created_.insert(path);

    const char* hardlink = archive_entry_hardlink(entry);
    if (hardlink != nullptr) return MakeHardLink(parent.get(), name, hardlink);

    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) return MakeDirectory(parent.get(), name, path, entry);
    SANDBOX_RETURN_IF_ERROR(RemoveAllAt(parent.get(), name));
    switch (type) {
      case AE_IFREG: return MakeFile(tar, parent.get(), name, entry);
      case AE_IFLNK: return MakeSymlink(parent.get(), name, entry);
      case AE_IFIFO:
      case AE_IFCHR:
      case AE_IFBLK: return MakeNode(parent.get(), name, type, entry);
      default:
        spdlog::warn("{}: skipping {} of unsupported type {:o}", layer_, path, type);
        return Status::Ok();
    }
  }

  Status ApplyWhiteout(int parent_fd, const std::vector<std::string>& parts, const std::string& name) {
    std::string dir = JoinParts(parts, parts.size() - 1);
    if (name == kOpaqueWhiteout) {
      // Hide everything the lower layers put here; this layer's entries stay.
      int fd = ::openat(parent_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus("openat", "/" + dir);
      std::unique_ptr<DIR, int (*)(DIR*)> listing(::fdopendir(fd), ::closedir);
      if (!listing) {
        ::close(fd);
        return ErrnoStatus("fdopendir", "/" + dir);
      }
      std::vector<std::string> lower;
      while (struct dirent* child = ::readdir(listing.get())) {
        std::string child_name = child->d_name;
        if (child_name == "." || child_name == "..") continue;
        if (!created_.contains(dir.empty() ? child_name : dir + "/" + child_name)) lower.push_back(child_name);
      }
      for (const std::string& child : lower) SANDBOX_RETURN_IF_ERROR(RemoveAllAt(parent_fd, child));
      return Status::Ok();
    }
    std::string target = name.substr(sizeof(kWhiteoutPrefix) - 1);
    if (target.empty() || target == "." || target == "..") return InvalidArgument("malformed whiteout");
    return RemoveAllAt(parent_fd, target);
  }

  Status MakeHardLink(int parent_fd, const std::string& name, const std::string& raw_target) {
    SANDBOX_ASSIGN_OR_RETURN(std::vector<std::string> target, SplitEntryPath(raw_target));
    if (target.empty()) return InvalidArgument("hard link to the rootfs itself");
    SANDBOX_ASSIGN_OR_RETURN(UniqueFd target_parent, OpenDirInRoot(root_fd_, JoinParts(target, target.size() - 1)));
    SANDBOX_RETURN_IF_ERROR(RemoveAllAt(parent_fd, name));
    if (::linkat(target_parent.get(), target.back().c_str(), parent_fd, name.c_str(), 0) != 0) {
      return ErrnoStatus("link", "to \"" + raw_target + "\"");
    }
    return Status::Ok();
  }

  Status MakeDirectory(int parent_fd, const std::string& name, const std::string& path,
                       struct archive_entry* entry) {
    struct stat st;
    bool exists = ::fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
      SANDBOX_RETURN_IF_ERROR(RemoveAllAt(parent_fd, name));
      exists = false;
    }
    if (!exists && ::mkdirat(parent_fd, name.c_str(), 0700) != 0) return ErrnoStatus("mkdir", path);
    UniqueFd dir(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) return ErrnoStatus("openat", path);
    SANDBOX_RETURN_IF_ERROR(ApplyMetadata(dir.get(), entry));
    // A directory's mtime changes as children arrive: set it at the end.
    directory_times_.push_back({path, EntryTimes(entry)});
    return Status::Ok();
  }

  Status MakeFile(struct archive* tar, int parent_fd, const std::string& name, struct archive_entry* entry) {
    UniqueFd file(::openat(parent_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file.valid()) return ErrnoStatus("create", name);
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      int result = archive_read_data_block(tar, &block, &size, &offset);
      if (result == ARCHIVE_EOF) break;
      if (result < ARCHIVE_WARN) return InvalidArgument(std::string("reading data: ") + ArchiveError(tar));
      const char* data = static_cast<const char*>(block);
      while (size > 0) {
        ssize_t written = ::pwrite(file.get(), data, size, offset);
        if (written < 0) {
          if (errno == EINTR) continue;
          return ErrnoStatus("write", name);
        }
        data += written;
        size -= static_cast<size_t>(written);
        offset += written;
      }
    }
    // Sparse files end in a hole that pwrite never reaches.
    if (::ftruncate(file.get(), archive_entry_size(entry)) != 0) return ErrnoStatus("ftruncate", name);
    SANDBOX_RETURN_IF_ERROR(ApplyMetadata(file.get(), entry));
    if (::futimens(file.get(), EntryTimeSpecs(entry).data()) != 0) return ErrnoStatus("futimens", name);
    return Status::Ok();
  }

  Status MakeSymlink(int parent_fd, const std::string& name, struct archive_entry* entry) {
    const char* target = archive_entry_symlink(entry);
    if (target == nullptr) return InvalidArgument("symlink without a target");
    if (::symlinkat(target, parent_fd, name.c_str()) != 0) return ErrnoStatus("symlink", name);
    if (options_.preserve_ownership &&
        ::fchownat(parent_fd, name.c_str(), static_cast<uid_t>(archive_entry_uid(entry)),
                   static_cast<gid_t>(archive_entry_gid(entry)), AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("lchown", name);
    }
    if (::utimensat(parent_fd, name.c_str(), EntryTimeSpecs(entry).data(), AT_SYMLINK_NOFOLLOW) != 0) return ErrnoStatus("utimensat", name);
    return Status::Ok();
  }

  Status MakeNode(int parent_fd, const std::string& name, mode_t type, struct archive_entry* entry) {
    if (type != AE_IFIFO && !options_.create_devices) {
      spdlog::warn("{}: skipping device node {} (creating devices needs root)", layer_, name);
      return Status::Ok();
    }
    dev_t device = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(entry), archive_entry_rdevminor(entry));
    if (::mknodat(parent_fd, name.c_str(), type | 0600, device) != 0) return ErrnoStatus("mknod", name);
    UniqueFd node(::openat(parent_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!node.valid()) return ErrnoStatus("openat", name);
    std::string proc_path = "/proc/self/fd/" + std::to_string(node.get());
    if (options_.preserve_ownership &&
        ::chown(proc_path.c_str(), static_cast<uid_t>(archive_entry_uid(entry)),
                static_cast<gid_t>(archive_entry_gid(entry))) != 0) {
      return ErrnoStatus("chown", name);
    }
    if (::chmod(proc_path.c_str(), archive_entry_perm(entry)) != 0) return ErrnoStatus("chmod", name);
    if (::utimensat(parent_fd, name.c_str(), EntryTimeSpecs(entry).data(), AT_SYMLINK_NOFOLLOW) != 0) return ErrnoStatus("utimensat", name);
    return Status::Ok();
  }

  // Owner, then mode (chown clears set-id bits), then xattrs, on an open fd.
  Status ApplyMetadata(int fd, struct archive_entry* entry) {
    if (options_.preserve_ownership &&
        ::fchown(fd, static_cast<uid_t>(archive_entry_uid(entry)), static_cast<gid_t>(archive_entry_gid(entry))) != 0) {
      return ErrnoStatus("fchown", archive_entry_pathname(entry));
    }
    if (::fchmod(fd, archive_entry_perm(entry)) != 0) return ErrnoStatus("fchmod", archive_entry_pathname(entry));
    const char* xattr_name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    archive_entry_xattr_reset(entry);
    while (archive_entry_xattr_next(entry, &xattr_name, &value, &size) == ARCHIVE_OK) {
      if (::fsetxattr(fd, xattr_name, value, size, 0) != 0) {
        if (errno == ENOTSUP || errno == EOPNOTSUPP) {
          spdlog::warn("{}: {}: xattr {} not supported here, skipped", layer_, archive_entry_pathname(entry), xattr_name);
          continue;
        }
        return ErrnoStatus("setxattr", std::string(xattr_name));
      }
    }
    return Status::Ok();
  }

  struct Times {
    struct timespec access, modify;
  };
  static Times EntryTimes(struct archive_entry* entry) {
    Times times;
    times.modify = {static_cast<time_t>(archive_entry_mtime(entry)), archive_entry_mtime_nsec(entry)};
    times.access = archive_entry_atime_is_set(entry)
                       ? timespec{static_cast<time_t>(archive_entry_atime(entry)), archive_entry_atime_nsec(entry)}
                       : times.modify;
    return times;
  }
  static std::array<struct timespec, 2> EntryTimeSpecs(struct archive_entry* entry) {
    Times times = EntryTimes(entry);
    return {times.access, times.modify};
  }

  Status FinishDirectoryTimes() {
    for (auto it = directory_times_.rbegin(); it != directory_times_.rend(); ++it) {
      Result<UniqueFd> dir = OpenDirInRoot(root_fd_, it->first);
      if (!dir.ok()) continue;  // removed later in the same layer
      struct timespec times[2] = {it->second.access, it->second.modify};
      std::string proc_path = "/proc/self/fd/" + std::to_string(dir->get());
      if (::utimensat(AT_FDCWD, proc_path.c_str(), times, 0) != 0) return ErrnoStatus("utimensat", it->first);
    }
    return Status::Ok();
  }

  int root_fd_;
  const LayerApplyOptions& options_;
  std::string layer_;
  std::set<std::string> created_;  // paths this layer wrote; whiteouts spare them
  std::vector<std::pair<std::string, Times>> directory_times_;
};

}  // namespace

Result<LayerCompression> LayerCompressionFor(const std::string& media_type) {
  static const std::pair<const char*, LayerCompression> kTypes[] = {
      {"application/vnd.oci.image.layer.v1.tar", LayerCompression::kNone},
      {"application/vnd.oci.image.layer.v1.tar+gzip", LayerCompression::kGzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", LayerCompression::kZstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", LayerCompression::kNone},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", LayerCompression::kGzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", LayerCompression::kZstd},
      {"application/vnd.docker.image.rootfs.diff.tar", LayerCompression::kNone},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", LayerCompression::kGzip},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", LayerCompression::kZstd},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", LayerCompression::kGzip},
  };
  for (const auto& [name, compression] : kTypes) {
    if (media_type == name) return compression;
  }
  return InvalidArgument("unsupported layer media type \"" + media_type + "\"");
}

Status ApplyLayer(const std::string& rootfs, const std::string& blob_path, const Descriptor& descriptor,
                  const std::string& diff_id, const LayerApplyOptions& options) {
  const std::string layer = "layer " + descriptor.digest;
  SANDBOX_ASSIGN_OR_RETURN(LayerCompression compression, LayerCompressionFor(descriptor.media_type));
  SANDBOX_ASSIGN_OR_RETURN(Digest want_digest, ParseDigest(descriptor.digest));
  Result<Digest> want_diff_id = ParseDigest(diff_id);
  if (!want_diff_id.ok()) return want_diff_id.status().Wrap(layer + ": diff_id");
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus("open", rootfs);

  UniqueFd blob(::open(blob_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!blob.valid()) return ErrnoStatus("open", blob_path).Wrap(layer);
  SANDBOX_ASSIGN_OR_RETURN(Hasher compressed_hasher, Hasher::Create(want_digest.algorithm));
  SANDBOX_ASSIGN_OR_RETURN(Hasher uncompressed_hasher, Hasher::Create(want_diff_id->algorithm));
  CompressedSource compressed{std::move(blob), std::move(compressed_hasher)};

  // Outer archive: decompression only (raw format); inner: the tar itself.
  ArchivePtr outer(archive_read_new());
  if (compression == LayerCompression::kGzip) archive_read_support_filter_gzip(outer.get());
  if (compression == LayerCompression::kZstd) archive_read_support_filter_zstd(outer.get());
  archive_read_support_filter_none(outer.get());
  archive_read_support_format_raw(outer.get());
  archive_read_support_format_empty(outer.get());
  if (archive_read_open(outer.get(), &compressed, nullptr, ReadCompressed, nullptr) != ARCHIVE_OK) {
    return InvalidArgument(layer + ": " + ArchiveError(outer.get()));
  }
  struct archive_entry* raw_entry = nullptr;
  int header = archive_read_next_header(outer.get(), &raw_entry);
  if (header != ARCHIVE_OK && header != ARCHIVE_EOF) {
    return InvalidArgument(layer + ": " + ArchiveError(outer.get()));
  }
  if (compression != LayerCompression::kNone && archive_filter_code(outer.get(), 0) == ARCHIVE_FILTER_NONE) {
    return InvalidArgument(layer + ": media type " + descriptor.media_type + " but the blob is not compressed");
  }
  UncompressedSource uncompressed{outer.get(), std::move(uncompressed_hasher)};
  uncompressed.at_end = header == ARCHIVE_EOF;

  ArchivePtr tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  archive_read_support_format_empty(tar.get());
  if (archive_read_open(tar.get(), &uncompressed, nullptr, ReadUncompressed, nullptr) != ARCHIVE_OK) {
    return InvalidArgument(layer + ": not a tar stream: " + ArchiveError(tar.get()));
  }
  LayerApplier applier(root.get(), options, layer);
  Status applied = applier.Apply(tar.get());

  // Hash the rest of both streams (tar padding, trailing compressed bytes)
  // so the digests cover the whole blob, then verify.
  const void* ignored;
  while (uncompressed.Read(&ignored) > 0) {
  }
  SANDBOX_RETURN_IF_ERROR(compressed.Drain().Wrap(layer));
  Digest got_digest = compressed.hasher.Finish();
  Digest got_diff_id = uncompressed.hasher.Finish();
  if (compressed.bytes != descriptor.size) {
    return InvalidArgument(layer + ": blob is " + std::to_string(compressed.bytes) + " bytes, descriptor says " +
                           std::to_string(descriptor.size));
  }
  if (!(got_digest == want_digest)) return InvalidArgument(layer + ": blob digest is " + got_digest.ToString());
  if (!(got_diff_id == *want_diff_id)) {
    return InvalidArgument(layer + ": uncompressed digest " + got_diff_id.ToString() +
                           " does not match diff_id " + diff_id);
  }
  return applied;
}

}  // namespace sandbox::image
