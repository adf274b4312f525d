#include "shim/microvm/exec_session.h"

#include <gtest/gtest.h>

#include "common/oci/default_spec.h"

namespace sandbox::shim {
namespace {

TEST(ExecSessionTest, WhatTheBackendCannotDoYetIsRefusedByFlag) {
  const SandboxRef ref{.id = "c", .state_dir = "/nonexistent", .bundle = "/nonexistent", .pid = std::nullopt};
  ExecRequest request{.process = oci::DefaultSpec({}).process.value()};
  request.detach = true;
  Result<ExecResult> refused = RunExec(ref, request);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.status().message().find("--detach"), std::string::npos);
  request.detach = false;
  request.process.terminal = true;
  refused = RunExec(ref, request);
  EXPECT_NE(refused.status().message().find("process.terminal"), std::string::npos);
  request.process.terminal = false;
  request.preserve_fds = 2;
  refused = RunExec(ref, request);
  EXPECT_NE(refused.status().message().find("--preserve-fds"), std::string::npos);
}

}  // namespace
}  // namespace sandbox::shim
