// Applies one image layer (a tar stream, plain, gzip or zstd) onto a rootfs
// directory with the image spec's semantics: whiteouts, opaque directories,
// hard links, symlinks, devices and fifos, modes, owners, mtimes and xattrs.
//
// Safety: every path is resolved with openat2(RESOLVE_IN_ROOT), so no entry,
// symlink or hard link can make a write land outside the rootfs; entries with
// ".." components are rejected outright. The blob is verified while it
// streams: its size and digest against the descriptor, the uncompressed
// stream against the config's diff_id.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/image/image_types.h"

namespace sandbox::image {

enum class LayerCompression { kNone, kGzip, kZstd };

// The compression of an OCI or Docker layer media type; other media types
// (unknown, or not a layer) are an error naming the type.
Result<LayerCompression> LayerCompressionFor(const std::string& media_type);

struct LayerApplyOptions {
  bool preserve_ownership = true;  // chown to the tar's uid/gid (needs root)
  bool create_devices = true;      // mknod char/block devices (needs root)
};

Status ApplyLayer(const std::string& rootfs, const std::string& blob_path, const Descriptor& descriptor,
                  const std::string& diff_id, const LayerApplyOptions& options);

}  // namespace sandbox::image
