// process.terminal through the real agent in host test mode: a pty from the
// container's own devpts, sized by consoleSize, resized by ResizeTty, its
// output (stdout and stderr merged) on the stdout stream; and CloseStdin.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <chrono>

#include "agent/container/container_fixture.h"

namespace sandbox::agent {
namespace {

class TerminalTest : public ContainerTest {
 protected:
  json TerminalConfig(const std::string& script) {
    json config = Config(script);
    config["process"]["terminal"] = true;
    config["process"]["consoleSize"] = {{"height", 24}, {"width", 80}};
    config["mounts"].push_back({{"destination", "/dev/pts"},
                                {"type", "devpts"},
                                {"source", "devpts"},
                                {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}});
    return config;
  }
  Status CreateWithIo(const std::string& id, const json& config, uint32_t in, uint32_t out, uint32_t err,
                      bool terminal) {
    v1::CreateContainerRequest request;
    request.set_container_id(id);
    request.set_config_json(config.dump());
    request.set_rootfs_source(rootfs_);
    request.mutable_io()->set_stdin_port(in);
    request.mutable_io()->set_stdout_port(out);
    request.mutable_io()->set_stderr_port(err);
    request.mutable_io()->set_terminal(terminal);
    return client_->Call(kAgentService, "CreateContainer", request.SerializeAsString()).status();
  }
  Status Resize(const std::string& id, const std::string& exec_id, uint32_t rows, uint32_t columns) {
    v1::ResizeTtyRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    request.set_rows(rows);
    request.set_columns(columns);
    return client_->Call(kAgentService, "ResizeTty", request.SerializeAsString()).status();
  }
  Status CloseStdin(const std::string& id, const std::string& exec_id = "") {
    v1::ProcessRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    return client_->Call(kAgentService, "CloseStdin", request.SerializeAsString()).status();
  }
  // Reads `fd` into *seen until it contains `wanted` (at most 10 s).
  static bool ReadUntil(int fd, const std::string& wanted, std::string* seen) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (seen->find(wanted) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd ready{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) != 1) return false;
      char buffer[4096];
      const ssize_t got = ::read(fd, buffer, sizeof(buffer));
      if (got <= 0) return false;
      seen->append(buffer, static_cast<size_t>(got));
    }
    return true;
  }
};

TEST_F(TerminalTest, InitAndExecGetPtysFromTheContainersDevptsAndFollowResizes) {
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd in_listener = ListenHostPort(host_prefix_, 2201);
  UniqueFd out_listener = ListenHostPort(host_prefix_, 2202);
  // stderr is the terminal too; `read` waits for the line typed after the resize.
  const Status created = CreateWithIo(
      "tty", TerminalConfig("tty; stty size; echo to-stderr >&2; test -c /dev/console && echo console; read line; "
                            "stty size; echo got:$line; exit 4"),
      2201, 2202, 0, true);
  ASSERT_TRUE(created.ok()) << created.message();
  UniqueFd in(::accept4(in_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  UniqueFd out(::accept4(out_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(in.valid() && out.valid());
  ASSERT_TRUE(Call("StartContainer", "tty").ok());
  std::string output;
  ASSERT_TRUE(ReadUntil(out.get(), "console\r\n", &output)) << output;
  // The pty of the container's own devpts instance (the first one there),
  // consoleSize applied, \n turned into \r\n by the terminal.
  EXPECT_EQ(output, "/dev/pts/0\r\n24 80\r\nto-stderr\r\nconsole\r\n");

  // An exec with a terminal of its own, sized by its own consoleSize.
  UniqueFd exec_out_listener = ListenHostPort(host_prefix_, 2203);
  v1::ExecProcessRequest exec;
  exec.set_container_id("tty");
  exec.set_exec_id("e1");
  exec.set_process_json(
      WithArgs({"/bin/sh", "-c", "tty; stty size"}, {{"terminal", true}, {"consoleSize", {{"height", 10}, {"width", 40}}}})
          .dump());
  exec.mutable_io()->set_stdout_port(2203);
  exec.mutable_io()->set_terminal(true);
  const auto execed = client_->Call(kAgentService, "ExecProcess", exec.SerializeAsString());
  ASSERT_TRUE(execed.ok()) << execed.status().message();
  UniqueFd exec_out(::accept4(exec_out_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(exec_out.valid());
  EXPECT_EQ(ReadToEof(exec_out.get()), "/dev/pts/1\r\n10 40\r\n");
  EXPECT_EQ(WaitExec("tty", "e1").value_or(-1), 0);

  ASSERT_TRUE(Resize("tty", "", 50, 132).ok());
  ASSERT_EQ(::write(in.get(), "hello\n", 6), 6);
  output.clear();
  output = ReadToEof(out.get());
  // The terminal echoes the typed line, then the new size and the line read.
  EXPECT_EQ(output, "hello\r\n50 132\r\ngot:hello\r\n");
  EXPECT_EQ(Wait("tty"), 4);
  EXPECT_EQ(Resize("tty", "", 10, 10).code(), StatusCode::kFailedPrecondition) << "the pty ended with the process";
  EXPECT_TRUE(Call("RemoveContainer", "tty").ok());
}

TEST_F(TerminalTest, MismatchedOrIncompleteTerminalRequestsAreRefusedByField) {
  // Each attempt gets listeners of its own: the agent may connect before it refuses.
  uint32_t next_port = 2300;
  auto create = [&](const json& config, bool out, bool err, bool terminal) {
    const uint32_t out_port = out ? ++next_port : 0;
    const uint32_t err_port = err ? ++next_port : 0;
    UniqueFd out_listener = out ? ListenHostPort(host_prefix_, out_port) : UniqueFd();
    UniqueFd err_listener = err ? ListenHostPort(host_prefix_, err_port) : UniqueFd();
    return CreateWithIo("t", config, 0, out_port, err_port, terminal);
  };
  Status refused = create(Config("true"), true, false, true);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("io.terminal"), std::string::npos) << refused.message();
  refused = create(TerminalConfig("true"), true, false, false);
  EXPECT_NE(refused.message().find("io.terminal"), std::string::npos) << refused.message();
  refused = create(TerminalConfig("true"), false, false, true);
  EXPECT_NE(refused.message().find("io.stdout_port"), std::string::npos) << refused.message();
  refused = create(TerminalConfig("true"), true, true, true);
  EXPECT_NE(refused.message().find("io.stderr_port"), std::string::npos) << refused.message();
  // No devpts in the container: no pty to give it.
  json no_devpts = TerminalConfig("true");
  no_devpts["mounts"].erase(no_devpts["mounts"].size() - 1);
  refused = create(no_devpts, true, false, true);
  EXPECT_NE(refused.message().find("process.terminal"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("/dev/ptmx"), std::string::npos) << refused.message();

  // A container without a terminal cannot be resized; unknown execs are named.
  ASSERT_TRUE(Create("plain", Config("sleep 100")).ok());
  EXPECT_EQ(Resize("plain", "", 10, 10).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Resize("plain", "nope", 10, 10).code(), StatusCode::kNotFound);
  EXPECT_EQ(CloseStdin("plain", "nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(Resize("nobody", "", 10, 10).code(), StatusCode::kNotFound);
  EXPECT_TRUE(Call("RemoveContainer", "plain").ok());
  EXPECT_EQ(RunContainer("t", Config("exit 0")), 0) << "the id is free again";
  EXPECT_TRUE(AgentAlive());
}

TEST_F(TerminalTest, CloseStdinGivesThePipeReaderEof) {
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd in_listener = ListenHostPort(host_prefix_, 2401);
  UniqueFd out_listener = ListenHostPort(host_prefix_, 2402);
  ASSERT_TRUE(CreateWithIo("cat", Config("cat; echo done"), 2401, 2402, 0, false).ok());
  UniqueFd in(::accept4(in_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  UniqueFd out(::accept4(out_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(in.valid() && out.valid());
  ASSERT_TRUE(Call("StartContainer", "cat").ok());
  // The host's stdin stream stays open: only CloseStdin can end cat.
  ASSERT_TRUE(CloseStdin("cat").ok());
  EXPECT_EQ(ReadToEof(out.get()), "done\n");
  EXPECT_EQ(Wait("cat"), 0);
  EXPECT_TRUE(Call("RemoveContainer", "cat").ok());
}

}  // namespace
}  // namespace sandbox::agent
