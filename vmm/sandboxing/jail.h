// The jail sandbox-vmm confines itself to once the VM is built and before the
// guest's first instruction: the last steps of what Firecracker's jailer does
// before exec, done here because our VMM may be linked dynamically (sanitizer
// builds, SANDBOX_STATIC_HOST_BINARIES=OFF: its loader and libraries must be
// mapped before "/" becomes a directory without them).
// The monitor that starts it has already put it in a pid namespace of its own
// (shim/microvm/sandbox_vm.cc); the rest is here:
//   - private mount, IPC, UTS and network namespaces (the VM's NICs are TAP
//     fds passed in, and every socket it needs is already open or a Unix
//     socket path in the root);
//   - jail.root bind-mounted read-only, nosuid, nodev, noexec as "/";
//   - RLIMIT_NOFILE, RLIMIT_FSIZE and RLIMIT_CORE (no core file: it would
//     hold guest memory);
//   - no_new_privs, an empty capability bounding set, no ambient or
//     inheritable capabilities, no supplementary groups, jail.uid/jail.gid.
// Everything the VMM opens by path (kernel, initrd, disks, /dev/kvm, its
// own listening sockets, the console file, virtiofsd's socket) it opened in
// Build; afterwards it can only connect to the sockets in jail.root.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "vmm/config.h"

namespace sandbox::vmm {

// Must run while the process has one thread: a mount namespace made by
// unshare(2) would otherwise hold only the calling thread. Errors name the
// step that failed; after one the process must exit (it is half confined).
Status EnterJail(const JailConfig& jail, uint64_t max_file_bytes);

// Where `host_path`, a file directly in jail.root, is seen from inside the jail.
std::string PathInJail(const std::string& host_path);

// The largest file the jailed VMM may write: the console file's cap and its
// last line, or a writable disk's size, whichever is larger.
Result<uint64_t> JailFileSizeLimit(const VmmConfig& config);

}  // namespace sandbox::vmm
