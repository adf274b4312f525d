// An OCI image layout directory: oci-layout, index.json and blobs/<alg>/<hex>.
// Every blob read through it is checked against its descriptor's size and digest.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/image/digest.h"
#include "common/image/image_types.h"

namespace sandbox::image {

class ImageLayout {
 public:
  // Checks oci-layout (imageLayoutVersion 1.0.0) and parses index.json.
  static Result<ImageLayout> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const Index& index() const { return index_; }

  // blobs/<algorithm>/<hex> for a descriptor; fails for a malformed digest.
  Result<std::string> BlobPath(const Descriptor& descriptor) const;

  // Reads a small JSON blob (manifest, index, config) whole, verifying size and
  // digest. Blobs above `max_size` are refused before reading.
  Result<std::string> ReadBlob(const Descriptor& descriptor, int64_t max_size = 8 << 20) const;

 private:
  ImageLayout(std::string dir, Index index) : dir_(std::move(dir)), index_(std::move(index)) {}
  std::string dir_;
  Index index_;
};

}  // namespace sandbox::image
