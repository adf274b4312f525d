// The channel between the agent and a container's init process (the agent
// binary re-executed as "sandbox-agent container-init" inside the new
// namespaces, so that setup runs in a fresh single-threaded process, as
// runc's "runc init" does). A socketpair; messages are length-prefixed.
//
//  agent -> init:  the plan (JSON: rootfs path + config.json)
//  init  -> agent: "ready" once the container is built, or "error: ..."
//  init  -> agent: "console" with the pty master attached, first, when
//                  process.terminal is set (exec-init likewise)
//  agent -> init:  "start"   (StartContainer)
//  init execs the user process; the socket is close-on-exec, so the agent
//  reads EOF on success or "error: ..." if the exec failed.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"
#include "common/io/preserved_fds.h"

namespace sandbox::agent {

// Where the init finds its end: above fds 3, 4, ... which belong to the
// process's preserved fds (ProcessStdio).
inline constexpr int kInitChannelFd = 3 + static_cast<int>(kMaxPreservedFds);
inline constexpr size_t kMaxInitMessage = 4 << 20;

// `passed_fd` >= 0 travels with the message (SCM_RIGHTS).
Status SendInitMessage(int fd, const std::string& message, int passed_fd = -1);
// kNotFound at a clean EOF before any byte. An fd that came with the
// message goes to *passed; one that nobody asked for is an error.
Result<std::string> ReceiveInitMessage(int fd, UniqueFd* passed = nullptr);

// The child's side (container-init, exec-init): main()'s exit codes when
// the process could not be built or exec'd.
inline constexpr int kSetupFailed = 126;
inline constexpr int kExecFailed = 127;
// Makes the child's end close-on-exec (the user's process must not inherit
// it) and reads the plan the agent sent: a JSON object.
Result<std::string> ReceivePlan();
// Sends "error: <message>" to the agent; returns `code` for main().
int ReportInitFailure(const Status& status, int code);

}  // namespace sandbox::agent
