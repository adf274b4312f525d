// Test helper: writes OCI image layouts with layers made by libarchive, so
// tests control every byte (and can corrupt them on purpose).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/image/image_types.h"
#include "common/image/layer_apply.h"

namespace sandbox::image::testing {

struct TarEntry {
  enum class Kind { kFile, kDirectory, kSymlink, kHardlink, kFifo, kCharDevice };
  std::string path;
  Kind kind = Kind::kFile;
  std::string content;  // file data
  std::string target;   // symlink or hard link target
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
  time_t mtime = 1700000000;
  std::map<std::string, std::string> xattrs;
  unsigned dev_major = 0, dev_minor = 0;
};

TarEntry File(std::string path, std::string content, mode_t mode = 0644);
TarEntry Dir(std::string path, mode_t mode = 0755);
TarEntry Symlink(std::string path, std::string target);
TarEntry Hardlink(std::string path, std::string target);

std::string MakeTar(const std::vector<TarEntry>& entries);
std::string Compress(const std::string& data, LayerCompression compression);
std::string Sha256(const std::string& data);  // "sha256:<hex>"

class LayoutBuilder {
 public:
  explicit LayoutBuilder(std::string dir);

  const std::string& dir() const { return dir_; }
  std::string BlobPath(const Descriptor& descriptor) const;

  Descriptor AddBlob(const std::string& content, const std::string& media_type);

  struct Layer {
    Descriptor descriptor;
    std::string diff_id;
  };
  Layer AddLayer(const std::vector<TarEntry>& entries, LayerCompression compression = LayerCompression::kGzip);

  // Adds config + manifest; `config_overrides` is merged into the config JSON
  // ({"config": {...}} etc.). Returns the manifest descriptor.
  Descriptor AddImage(const std::vector<Layer>& layers, const std::string& config_overrides_json = "{}",
                      const std::string& architecture = "amd64");

  Descriptor AddIndex(const std::vector<Descriptor>& manifests);

  // Writes oci-layout and index.json listing `manifests`.
  void Finish(const std::vector<Descriptor>& manifests);

  static Descriptor WithPlatform(Descriptor descriptor, const std::string& os, const std::string& architecture);
  static Descriptor WithTag(Descriptor descriptor, const std::string& tag);

 private:
  std::string dir_;
};

}  // namespace sandbox::image::testing
