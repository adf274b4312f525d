#include "common/image/layout.h"

#include <sys/stat.h>

#include "common/base/file_util.h"

namespace sandbox::image {

Result<ImageLayout> ImageLayout::Open(const std::string& dir) {
  if (!IsDirectory(dir)) return NotFound("image layout " + dir + " is not a directory");
  Result<std::string> header_text = ReadFile(dir + "/oci-layout");
  if (!header_text.ok()) return header_text.status().Wrap("image layout " + dir + " has no oci-layout file");
  LayoutHeader header;
  oci::FieldErrors errors = ParseLayoutHeader(*header_text, header);
  if (!errors.empty()) return oci::FieldErrorsToStatus(dir + "/oci-layout is invalid", errors);
  if (header.image_layout_version != "1.0.0") {
    return InvalidArgument(dir + "/oci-layout: unsupported imageLayoutVersion \"" +
                           header.image_layout_version + "\" (want 1.0.0)");
  }
  SANDBOX_ASSIGN_OR_RETURN(std::string index_text, ReadFile(dir + "/index.json"));
  Index index;
  errors = ParseIndex(index_text, index);
  if (!errors.empty()) return oci::FieldErrorsToStatus(dir + "/index.json is invalid", errors);
  if (index.schema_version != 2) {
    return InvalidArgument(dir + "/index.json: schemaVersion must be 2, got " + std::to_string(index.schema_version));
  }
  return ImageLayout(dir, std::move(index));
}

Result<std::string> ImageLayout::BlobPath(const Descriptor& descriptor) const {
  SANDBOX_ASSIGN_OR_RETURN(Digest digest, ParseDigest(descriptor.digest));
  if (descriptor.size < 0) return InvalidArgument("blob " + descriptor.digest + ": negative size");
  return dir_ + "/blobs/" + digest.algorithm + "/" + digest.hex;
}

Result<std::string> ImageLayout::ReadBlob(const Descriptor& descriptor, int64_t max_size) const {
  SANDBOX_ASSIGN_OR_RETURN(std::string path, BlobPath(descriptor));
  if (descriptor.size > max_size) {
    return InvalidArgument("blob " + descriptor.digest + ": size " + std::to_string(descriptor.size) +
                           " exceeds the " + std::to_string(max_size) + "-byte limit for " + descriptor.media_type);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", "blob " + path);
  if (st.st_size != descriptor.size) {
    return InvalidArgument("blob " + descriptor.digest + ": size " + std::to_string(st.st_size) +
                           " does not match the descriptor's " + std::to_string(descriptor.size));
  }
  SANDBOX_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  SANDBOX_ASSIGN_OR_RETURN(Digest want, ParseDigest(descriptor.digest));
  SANDBOX_ASSIGN_OR_RETURN(Hasher hasher, Hasher::Create(want.algorithm));
  hasher.Update(content.data(), content.size());
  Digest got = hasher.Finish();
  if (!(got == want)) {
    return InvalidArgument("blob " + descriptor.digest + ": content digest is " + got.ToString());
  }
  return content;
}

}  // namespace sandbox::image
