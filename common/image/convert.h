// Image config -> runtime config, by the image spec's conversion rules
// (conversion.md): Entrypoint+Cmd -> process.args, Env, WorkingDir, User
// resolved against the unpacked rootfs, and the annotations it names.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/image/image_types.h"
#include "common/oci/spec.h"

namespace sandbox::image {

// Volumes have no annotation in the spec; we record them under our own key.
inline constexpr char kVolumesAnnotation[] = "io.github.sandbox-rt.image.volumes";

// `rootfs` is the unpacked root, used to resolve user and group names.
// Without Entrypoint and Cmd, process.args is ["sh"] (logged), as runc's template.
Result<oci::Spec> ConvertImageConfig(const ImageConfig& config, const std::string& rootfs);

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  bool set_additional_gids = false;
};

// Parses Config.User ("user", "uid", "user:group", "uid:gid", ...) against
// /etc/passwd and /etc/group text.
Result<ResolvedUser> ResolveImageUser(const std::string& user, const std::string& passwd, const std::string& group);

}  // namespace sandbox::image
