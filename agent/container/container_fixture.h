// Test-only: containers built by the real agent in host test mode, driven
// over its socket like the shim drives it: a busybox rootfs from Debian's
// busybox-static, a bind-mounted /out for what the container reports, and
// the calls and stdio listeners the tests share.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "agent.pb.h"
#include "agent/agent_host_fixture.h"
#include "common/base/file_util.h"
#include "common/base/subprocess.h"
#include "common/base/unix_socket.h"
#include "common/ttrpc/client.h"

namespace sandbox::agent {

using nlohmann::json;

class ContainerTest : public AgentHostModeTest {
 protected:
  void SetUp() override {
    AgentHostModeTest::SetUp();
    rootfs_ = temp_.path() + "/rootfs";
    out_ = temp_.path() + "/out";
    ASSERT_TRUE(MakeDirs(rootfs_ + "/bin").ok());
    ASSERT_TRUE(MakeDirs(out_).ok());
    for (const char* dir : {"/proc", "/dev", "/tmp", "/out", "/etc"}) ASSERT_TRUE(MakeDirs(rootfs_ + dir).ok());
    auto copied = RunCommand(std::vector<std::string>{"cp", "/bin/busybox", rootfs_ + "/bin/busybox"});
    ASSERT_TRUE(copied.ok() && copied->exit_code == 0) << "busybox-static is needed (scripts/setup.sh)";
    // Relative applet links: `busybox --install -s` would point them at the host path.
    auto applets = RunCommand(std::vector<std::string>{"/bin/busybox", "--list"});
    ASSERT_TRUE(applets.ok() && applets->exit_code == 0);
    std::istringstream names(applets->output);
    for (std::string name; std::getline(names, name);) {
      if (name.empty() || name == "busybox") continue;
      ASSERT_EQ(::symlink("busybox", (rootfs_ + "/bin/" + name).c_str()), 0);
    }
    client_ = std::make_unique<ttrpc::Client>(std::move(connection_));
  }

  json Config(const std::string& script) {
    return {
        {"ociVersion", "1.2.0"},
        {"process",
         {{"args", {"/bin/sh", "-c", script}},
          {"env", {"PATH=/bin", "GREETING=hello"}},
          {"cwd", "/tmp"},
          {"user", {{"uid", 0}, {"gid", 0}}}}},
        {"root", {{"path", rootfs_}}},
        {"hostname", "box"},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "mode=755"}}},
          {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "size=1m"}}},
          {{"destination", "/out"}, {"type", "bind"}, {"source", out_}, {"options", {"rbind", "rw"}}}}},
        {"linux",
         {{"namespaces", {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "uts"}}, {{"type", "ipc"}}, {{"type", "network"}}}}}},
    };
  }

  Status Create(const std::string& id, const json& config) {
    v1::CreateContainerRequest request;
    request.set_container_id(id);
    request.set_config_json(config.dump());
    request.set_rootfs_source(rootfs_);
    return client_->Call(kAgentService, "CreateContainer", request.SerializeAsString()).status();
  }
  Status Call(const std::string& method, const std::string& id) {
    v1::ContainerRequest request;
    request.set_container_id(id);
    return client_->Call(kAgentService, method, request.SerializeAsString()).status();
  }
  Status Signal(const std::string& id, uint32_t signal, bool all = false) {
    v1::SignalProcessRequest request;
    request.set_container_id(id);
    request.set_signal(signal);
    request.set_all(all);
    return client_->Call(kAgentService, "SignalProcess", request.SerializeAsString()).status();
  }
  int Wait(const std::string& id) {
    v1::ProcessRequest request;
    request.set_container_id(id);
    auto reply = client_->Call(kAgentService, "WaitProcess", request.SerializeAsString());
    v1::WaitProcessResponse response;
    EXPECT_TRUE(reply.ok() && response.ParseFromString(*reply)) << reply.status().message();
    return response.exit_status();
  }
  // Create, start and wait; the exit status.
  int RunContainer(const std::string& id, const json& config) {
    const Status created = Create(id, config);
    EXPECT_TRUE(created.ok()) << created.message();
    const Status started = Call("StartContainer", id);
    EXPECT_TRUE(started.ok()) << started.message();
    const int status = Wait(id);
    EXPECT_TRUE(Call("RemoveContainer", id).ok());
    return status;
  }
  std::string Out(const std::string& name) { return ReadFile(out_ + "/" + name).value_or("<missing>"); }
  // ExecProcess of `process` (a runtime-spec process object) as `exec_id`.
  Status Exec(const std::string& id, const std::string& exec_id, const json& process, uint32_t stdout_port = 0) {
    v1::ExecProcessRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    request.set_process_json(process.dump());
    request.mutable_io()->set_stdout_port(stdout_port);
    return client_->Call(kAgentService, "ExecProcess", request.SerializeAsString()).status();
  }
  Result<int> WaitExec(const std::string& id, const std::string& exec_id) {
    v1::ProcessRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    SANDBOX_ASSIGN_OR_RETURN(std::string reply, client_->Call(kAgentService, "WaitProcess", request.SerializeAsString()));
    v1::WaitProcessResponse response;
    if (!response.ParseFromString(reply)) return Internal("bad WaitProcessResponse");
    return response.exit_status();
  }
  // A process running `args`, with `overrides` applied on top.
  static json WithArgs(const std::vector<std::string>& args, const json& overrides = json::object()) {
    json process = {{"args", args}, {"env", {"PATH=/bin"}}, {"cwd", "/"}, {"user", {{"uid", 0}, {"gid", 0}}}};
    process.update(overrides);
    return process;
  }
  static json Process(const std::string& script) { return WithArgs({"/bin/sh", "-c", script}); }

  // A FIFO in the shared directory: the container writes a line into it when
  // it is ready, and WaitForSignal blocks (at most 10 s) until that line comes.
  void MakeSignalFifo(const std::string& name) { ASSERT_EQ(::mkfifo((out_ + "/" + name).c_str(), 0666), 0); }
  bool WaitForSignal(const std::string& name) {
    UniqueFd fifo(::open((out_ + "/" + name).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo.valid()) return false;
    pollfd ready{fifo.get(), POLLIN, 0};
    if (::poll(&ready, 1, 10'000) != 1 || !(ready.revents & POLLIN)) return false;
    char byte;
    return ::read(fifo.get(), &byte, 1) == 1;
  }

  std::string rootfs_;
  std::string out_;
  std::unique_ptr<ttrpc::Client> client_;
};

// The shim's side of the stdio streams: a listener on the host socket for port P.
inline UniqueFd ListenHostPort(const std::string& prefix, uint32_t port) {
  Result<UniqueFd> listener = ListenUnix(prefix + "_" + std::to_string(port), 1);
  EXPECT_TRUE(listener.ok()) << listener.status().message();
  return listener.ok() ? std::move(listener).value() : UniqueFd();
}

inline std::string ReadToEof(int fd) {
  std::string data;
  char buffer[65536];
  for (ssize_t got; (got = ::read(fd, buffer, sizeof(buffer))) > 0;) data.append(buffer, static_cast<size_t>(got));
  return data;
}

}  // namespace sandbox::agent
