// Paths inside a container's root directory, resolved as the container will
// see them: openat2(RESOLVE_IN_ROOT) keeps symlinks and ".." inside the root,
// so a hostile rootfs cannot point a mount point or a created file outside it.
// Used by the agent (mount points in the guest) and by the host side (mount
// points of a read-only rootfs made before it is shared).
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox {

// Opens `path` (absolute or relative; resolved under `root_fd`) with `flags`.
// ENOENT is kNotFound.
Result<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags);

// Like mkdir -p under `root_fd`, with an empty file as the last component
// when `file` (a file bind mount's mount point); then opens it O_PATH. A
// ".." component is refused. A failure names `path`; EROFS stays visible in
// the status's message ("Read-only file system").
Result<UniqueFd> MakeInRoot(int root_fd, const std::string& path, bool file);

// Whether `path` lies at or under `parent`, component by component
// ("/dev/shm" is under "/dev", "/devices" is not).
bool IsAtOrUnder(const std::string& path, const std::string& parent);

}  // namespace sandbox
