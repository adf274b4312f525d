// The agent's own executable as an fd, for the container and exec inits it
// re-executes.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::agent {

// A sealed in-memory copy of /proc/self/exe (memfd: no write, grow or shrink,
// seals sealed), close-on-exec. Executed with execveat(AT_EMPTY_PATH), it
// needs no path: an init whose mapped uid cannot traverse the directories
// above the binary (a build tree under a 0700 home) still starts, and a
// container process can never reach the agent's binary to overwrite it for
// the next init (runc's CVE-2019-5736 defence). Call before threads exist
// or while none forks.
Result<UniqueFd> SealedSelfExecutable();

// /proc/self/exe opened (O_PATH, close-on-exec) through a read-only overlay
// of its directory that is mounted nowhere (fsmount's detached mount; with
// `empty_dir`, an empty directory on another file system, as the second
// layer overlayfs needs without an upper one): runc's newer defence. A write
// through the fd or /proc/PID/exe fails with EROFS, and since the overlay has
// no upper layer no remount can make it writable; the init's text is the
// running agent's page cache, not a second copy of the binary (5.7 MiB of
// guest RAM per VM, and of every template). Needs CAP_SYS_ADMIN and
// overlayfs; callers fall back to SealedSelfExecutable.
Result<UniqueFd> ReadOnlySelfExecutable(const std::string& empty_dir);

// execveat(fd, "", argv, envp, AT_EMPTY_PATH); returns only on failure.
// Async-signal-safe: for a cloned child.
void ExecuteFd(int fd, char* const argv[], char* const envp[]);

}  // namespace sandbox::agent
