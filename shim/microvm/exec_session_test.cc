#include "shim/microvm/exec_session.h"

#include <gtest/gtest.h>

#include "common/oci/default_spec.h"

namespace sandbox::shim {
namespace {

TEST(ExecSessionTest, WhatTheBackendCannotDoIsRefusedByFlag) {
  const SandboxRef ref{.id = "c", .state_dir = "/nonexistent", .bundle = "/nonexistent", .pid = std::nullopt};
  ExecRequest request{.process = oci::DefaultSpec({}).process.value()};
  request.detach = true;
  request.process.terminal = true;
  Result<ExecResult> refused = RunExec(ref, request);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--detach --tty"), std::string::npos);
  // A detached exec's errors come back from its relay process.
  request.process.terminal = false;
  refused = RunExec(ref, request);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("/nonexistent"), std::string::npos) << refused.status().message();
  request.detach = false;
  request.console_socket = "/run/console.sock";
  refused = RunExec(ref, request);
  EXPECT_NE(refused.status().message().find("--console-socket"), std::string::npos);
  request.console_socket.clear();
  request.preserve_fds = 33;
  refused = RunExec(ref, request);
  EXPECT_NE(refused.status().message().find("--preserve-fds 33: at most 32"), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace sandbox::shim
