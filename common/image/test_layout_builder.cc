#include "common/image/test_layout_builder.h"

#include <archive.h>
#include <archive_entry.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/base/file_util.h"
#include "common/image/digest.h"

namespace sandbox::image::testing {
namespace {

using Json = nlohmann::json;

void Check(int result, struct archive* archive) {
  if (result < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(archive));
}

// Writes into a std::string through libarchive's client callbacks.
la_ssize_t AppendToString(struct archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

}  // namespace

TarEntry File(std::string path, std::string content, mode_t mode) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.content = std::move(content);
  entry.mode = mode;
  return entry;
}

TarEntry Dir(std::string path, mode_t mode) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.kind = TarEntry::Kind::kDirectory;
  entry.mode = mode;
  return entry;
}

TarEntry Symlink(std::string path, std::string target) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.kind = TarEntry::Kind::kSymlink;
  entry.target = std::move(target);
  entry.mode = 0777;
  return entry;
}

TarEntry Hardlink(std::string path, std::string target) {
  TarEntry entry;
  entry.path = std::move(path);
  entry.kind = TarEntry::Kind::kHardlink;
  entry.target = std::move(target);
  return entry;
}

std::string MakeTar(const std::vector<TarEntry>& entries) {
  std::string out;
  struct archive* writer = archive_write_new();
  archive_write_set_format_pax(writer);
  archive_write_set_bytes_per_block(writer, 10240);
  Check(archive_write_open(writer, &out, nullptr, AppendToString, nullptr), writer);
  for (const TarEntry& spec : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, spec.path.c_str());
    archive_entry_set_uid(entry, spec.uid);
    archive_entry_set_gid(entry, spec.gid);
    archive_entry_set_mtime(entry, spec.mtime, 0);
    archive_entry_set_perm(entry, spec.mode);
    for (const auto& [name, value] : spec.xattrs) {
      archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
    }
    switch (spec.kind) {
      case TarEntry::Kind::kFile:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(spec.content.size()));
        break;
      case TarEntry::Kind::kDirectory: archive_entry_set_filetype(entry, AE_IFDIR); break;
      case TarEntry::Kind::kSymlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, spec.target.c_str());
        break;
      case TarEntry::Kind::kHardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, spec.target.c_str());
        break;
      case TarEntry::Kind::kFifo: archive_entry_set_filetype(entry, AE_IFIFO); break;
      case TarEntry::Kind::kCharDevice:
        archive_entry_set_filetype(entry, AE_IFCHR);
        archive_entry_set_rdevmajor(entry, spec.dev_major);
        archive_entry_set_rdevminor(entry, spec.dev_minor);
        break;
    }
    Check(archive_write_header(writer, entry), writer);
    if (spec.kind == TarEntry::Kind::kFile && !spec.content.empty()) {
      archive_write_data(writer, spec.content.data(), spec.content.size());
    }
    archive_entry_free(entry);
  }
  Check(archive_write_close(writer), writer);
  archive_write_free(writer);
  return out;
}

std::string Compress(const std::string& data, LayerCompression compression) {
  if (compression == LayerCompression::kNone) return data;
  std::string out;
  struct archive* writer = archive_write_new();
  if (compression == LayerCompression::kGzip) archive_write_add_filter_gzip(writer);
  if (compression == LayerCompression::kZstd) archive_write_add_filter_zstd(writer);
  archive_write_set_format_raw(writer);
  archive_write_set_bytes_per_block(writer, 0);
  Check(archive_write_open(writer, &out, nullptr, AppendToString, nullptr), writer);
  struct archive_entry* entry = archive_entry_new();
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_pathname(entry, "layer");
  Check(archive_write_header(writer, entry), writer);
  archive_write_data(writer, data.data(), data.size());
  archive_entry_free(entry);
  Check(archive_write_close(writer), writer);
  archive_write_free(writer);
  return out;
}

std::string Sha256(const std::string& data) {
  Hasher hasher = Hasher::Create("sha256").value();
  hasher.Update(data.data(), data.size());
  return hasher.Finish().ToString();
}

LayoutBuilder::LayoutBuilder(std::string dir) : dir_(std::move(dir)) {
  if (!MakeDirs(dir_ + "/blobs/sha256").ok()) throw std::runtime_error("mkdir " + dir_);
}

std::string LayoutBuilder::BlobPath(const Descriptor& descriptor) const {
  return dir_ + "/blobs/sha256/" + descriptor.digest.substr(7);
}

Descriptor LayoutBuilder::AddBlob(const std::string& content, const std::string& media_type) {
  Descriptor descriptor;
  descriptor.media_type = media_type;
  descriptor.digest = Sha256(content);
  descriptor.size = static_cast<int64_t>(content.size());
  if (!WriteFileAtomic(BlobPath(descriptor), content).ok()) throw std::runtime_error("write blob");
  return descriptor;
}

LayoutBuilder::Layer LayoutBuilder::AddLayer(const std::vector<TarEntry>& entries, LayerCompression compression) {
  std::string tar = MakeTar(entries);
  const char* media_type = compression == LayerCompression::kGzip   ? "application/vnd.oci.image.layer.v1.tar+gzip"
                           : compression == LayerCompression::kZstd ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                                                    : "application/vnd.oci.image.layer.v1.tar";
  return Layer{AddBlob(Compress(tar, compression), media_type), Sha256(tar)};
}

Descriptor LayoutBuilder::AddImage(const std::vector<Layer>& layers, const std::string& config_overrides_json,
                                   const std::string& architecture) {
  Json config = {{"architecture", architecture},
                 {"os", "linux"},
                 {"config", {{"Cmd", {"/bin/sh"}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array()}}}};
  for (const Layer& layer : layers) config["rootfs"]["diff_ids"].push_back(layer.diff_id);
  config.merge_patch(Json::parse(config_overrides_json));
  Descriptor config_descriptor = AddBlob(config.dump(), std::string(media_type::kConfig));
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", media_type::kManifest},
                   {"config", {{"mediaType", config_descriptor.media_type},
                               {"digest", config_descriptor.digest},
                               {"size", config_descriptor.size}}},
                   {"layers", Json::array()}};
  for (const Layer& layer : layers) {
    manifest["layers"].push_back({{"mediaType", layer.descriptor.media_type},
                                  {"digest", layer.descriptor.digest},
                                  {"size", layer.descriptor.size}});
  }
  Descriptor descriptor = AddBlob(manifest.dump(), std::string(media_type::kManifest));
  descriptor.platform = Platform{architecture, "linux", std::nullopt, std::nullopt, std::nullopt, {}};
  return descriptor;
}

Descriptor LayoutBuilder::AddIndex(const std::vector<Descriptor>& manifests) {
  Index index;
  index.schema_version = 2;
  index.media_type = std::string(media_type::kIndex);
  index.manifests = manifests;
  return AddBlob(IndexToJson(index), std::string(media_type::kIndex));
}

void LayoutBuilder::Finish(const std::vector<Descriptor>& manifests) {
  Index index;
  index.schema_version = 2;
  index.manifests = manifests;
  if (!WriteFileAtomic(dir_ + "/index.json", IndexToJson(index)).ok() ||
      !WriteFileAtomic(dir_ + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})").ok()) {
    throw std::runtime_error("write index");
  }
}

Descriptor LayoutBuilder::WithPlatform(Descriptor descriptor, const std::string& os, const std::string& architecture) {
  descriptor.platform = Platform{architecture, os, std::nullopt, std::nullopt, std::nullopt, {}};
  return descriptor;
}

Descriptor LayoutBuilder::WithTag(Descriptor descriptor, const std::string& tag) {
  if (!descriptor.annotations) descriptor.annotations = StringMap{};
  (*descriptor.annotations)["org.opencontainers.image.ref.name"] = tag;
  return descriptor;
}

}  // namespace sandbox::image::testing
