#include "shim/runtime/runtime.h"
#include "shim/runtime/signals.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "common/base/unix_socket.h"
#include "common/oci/default_spec.h"
#include "common/oci/spec_json.h"
#include "shim/runtime/process_identity.h"

namespace sandbox::shim {
namespace {

// A test double standing in for the microVM: it records calls and keeps a
// status per container so the lifecycle rules can be checked in isolation.
class FakeSandbox : public Sandbox {
 public:
  Result<int64_t> Create(const SandboxCreateRequest& request) override {
    calls.push_back("create " + request.ref.id + (request.start ? " and start" : ""));
    if (signal_during_create != 0) ::raise(signal_during_create);  // as if the caller sent it while the VM boots
    if (fail_create) return Internal("VMM failed to start");
    EXPECT_TRUE(PathExists(request.ref.state_dir));
    live[request.ref.id] = request.start ? LiveStatus::kRunning : LiveStatus::kCreated;
    return 4242;
  }
  Status Start(const SandboxRef& ref) override {
    calls.push_back("start " + ref.id);
    live[ref.id] = LiveStatus::kRunning;
    return Status::Ok();
  }
  Result<LiveStatus> Query(const SandboxRef& ref) override {
    auto it = live.find(ref.id);
    if (it == live.end()) return Unavailable("no VMM");
    return it->second;
  }
  Status Kill(const SandboxRef& ref, int signal, bool all) override {
    calls.push_back("kill " + ref.id + " " + std::to_string(signal) + (all ? " all" : ""));
    kill_saw_status = ref.status;
    if (signal == SIGKILL) live[ref.id] = LiveStatus::kStopped;
    return Status::Ok();
  }
  Status Pause(const SandboxRef& ref) override {
    live[ref.id] = LiveStatus::kPaused;
    return Status::Ok();
  }
  Status Resume(const SandboxRef& ref) override {
    live[ref.id] = LiveStatus::kRunning;
    return Status::Ok();
  }
  Result<int> Wait(const SandboxRef& ref) override {
    // What the microVM's Wait forwards: the signals pending for this thread.
    const sigset_t forwarded = ForwardedSignals();
    const timespec now{};
    for (int signal; (signal = ::sigtimedwait(&forwarded, nullptr, &now)) > 0;) {
      calls.push_back("forward " + std::to_string(signal));
    }
    live[ref.id] = LiveStatus::kStopped;
    return exit_code;
  }
  Result<std::vector<ProcessInfo>> ListProcesses(const SandboxRef&) override {
    return std::vector<ProcessInfo>{{.pid = 1, .uid = 0, .command = "sh"}};
  }
  Result<ExecResult> Exec(const SandboxRef& ref, const ExecRequest&) override {
    calls.push_back("exec " + ref.id);
    return ExecResult{.pid = 99, .exit_code = 0};
  }
  Status Update(const SandboxRef& ref, const oci::Resources&) override {
    calls.push_back("update " + ref.id);
    return Status::Ok();
  }
  Result<ContainerStats> Stats(const SandboxRef&) override { return ContainerStats{}; }
  Status Destroy(const SandboxRef& ref) override {
    calls.push_back("destroy " + ref.id);
    live.erase(ref.id);
    return Status::Ok();
  }

  std::map<std::string, LiveStatus> live;
  std::vector<std::string> calls;
  std::string kill_saw_status;
  bool fail_create = false;
  int signal_during_create = 0;
  int exit_code = 0;
};

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_ = dir_ + "/bundle";
    ASSERT_TRUE(MakeDirs(bundle_ + "/rootfs").ok());
    oci::Spec spec = oci::DefaultSpec({});
    spec.process->terminal = false;
    spec.annotations = oci::StringMap{{"k", "v"}};
    ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", oci::SpecToJson(spec)).ok());
    store_ = std::make_unique<StateStore>(dir_ + "/root");
    runtime_ = std::make_unique<Runtime>(RuntimeContext{
        .store = store_.get(), .sandbox = &sandbox_, .now = [] { return "2026-11-27T00:00:00Z"; }, .owner = ""});
  }
  CreateOptions Options(const std::string& id) {
    return CreateOptions{.id = id, .bundle = bundle_, .pid_file = dir_ + "/pid"};
  }
  std::string StatusOf(const std::string& id) { return runtime_->State(id)->status; }

  // What a create SIGKILLed half-way leaves: a "creating" state (pid 0), a VM
  // that still runs, and the creator's identity (none when it died before
  // writing it).
  void LeaveCreating(const std::string& id, std::optional<ProcessIdentity> creator) {
    oci::State state{.oci_version = "1.3.0", .id = id, .status = "creating", .bundle = bundle_};
    ASSERT_TRUE(store_->Create(state).ok());
    if (creator) {
      ASSERT_TRUE(WriteFileAtomic(dir_ + "/root/" + id + "/creator", FormatIdentity(*creator)).ok());
    }
    sandbox_.live[id] = LiveStatus::kCreated;
  }
  // A process that ran and exited (and was reaped).
  static ProcessIdentity DeadProcess() {
    int go[2];
    EXPECT_EQ(::pipe(go), 0);
    const pid_t child = ::fork();
    if (child == 0) {
      char byte;
      ::close(go[1]);
      (void)!::read(go[0], &byte, 1);
      ::_exit(0);
    }
    ::close(go[0]);
    const ProcessIdentity identity{.pid = child, .start_time = ProcessStartTime(child).value_or(0)};
    ::close(go[1]);
    ::waitpid(child, nullptr, 0);
    return identity;
  }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-runtime-");
  const std::string dir_ = temp_.path();
  std::string bundle_;
  FakeSandbox sandbox_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(RuntimeTest, FullLifecycle) {
  ASSERT_TRUE(runtime_->Create(Options("c1")).ok());
  Result<oci::State> state = runtime_->State("c1");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status, "created");
  EXPECT_EQ(state->pid, 4242);
  EXPECT_EQ(state->bundle, bundle_);
  EXPECT_EQ(state->rootfs, bundle_ + "/rootfs");
  EXPECT_EQ(state->created, "2026-11-27T00:00:00Z");
  EXPECT_EQ(state->annotations->at("k"), "v");
  EXPECT_EQ(ReadFile(dir_ + "/pid").value(), "4242");

  ASSERT_TRUE(runtime_->Start("c1").ok());
  EXPECT_EQ(StatusOf("c1"), "running");
  ASSERT_TRUE(runtime_->Pause("c1").ok());
  EXPECT_EQ(StatusOf("c1"), "paused");
  ASSERT_TRUE(runtime_->Resume("c1").ok());
  ASSERT_TRUE(runtime_->Kill("c1", SIGKILL, false).ok());
  EXPECT_EQ(StatusOf("c1"), "stopped");
  ASSERT_TRUE(runtime_->Delete("c1", false).ok());
  EXPECT_EQ(runtime_->State("c1").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(PathExists(dir_ + "/root/c1"));
  EXPECT_EQ(sandbox_.calls.back(), "destroy c1");
}

TEST_F(RuntimeTest, TransitionsAreEnforced) {
  ASSERT_TRUE(runtime_->Create(Options("c")).ok());
  EXPECT_EQ(runtime_->Resume("c").code(), StatusCode::kFailedPrecondition);
  // Exec into a created container is allowed, as with runc.
  EXPECT_TRUE(runtime_->Exec("c", ExecRequest{.process = oci::DefaultSpec({}).process.value()}).ok());
  ASSERT_TRUE(runtime_->Start("c").ok());
  Status again = runtime_->Start("c");
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.message(), "cannot start container \"c\": it is running");
  Status busy = runtime_->Delete("c", false);
  EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(busy.message().find("--force"), std::string::npos);
  // Not into a paused container, as with runc.
  ASSERT_TRUE(runtime_->Pause("c").ok());
  Status paused = runtime_->Exec("c", ExecRequest{.process = oci::DefaultSpec({}).process.value()}).status();
  EXPECT_EQ(paused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(paused.message().find("paused"), std::string::npos) << paused.message();
  EXPECT_EQ(runtime_->Create(Options("c")).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(runtime_->Delete("c", true).ok());
  EXPECT_FALSE(PathExists(dir_ + "/root/c"));
  EXPECT_EQ(runtime_->Kill("c", SIGTERM, false).code(), StatusCode::kNotFound);
}

// A backend's Kill acts on the status the runtime has just refreshed under
// the lock (the microVM's: a paused VM takes no signal), not the stored one.
TEST_F(RuntimeTest, KillGetsTheStatusRefreshedUnderTheLock) {
  ASSERT_TRUE(runtime_->Create(Options("k")).ok());
  ASSERT_TRUE(runtime_->Start("k").ok());
  ASSERT_TRUE(runtime_->Pause("k").ok());
  ASSERT_TRUE(runtime_->Kill("k", SIGTERM, false).ok());
  EXPECT_EQ(sandbox_.kill_saw_status, "paused");
  sandbox_.live["k"] = LiveStatus::kRunning;  // resumed behind the runtime's back
  ASSERT_TRUE(runtime_->Kill("k", SIGTERM, false).ok());
  EXPECT_EQ(sandbox_.kill_saw_status, "running");
  ASSERT_TRUE(runtime_->Delete("k", true).ok());
}

TEST_F(RuntimeTest, StoppedContainersCannotBeStartedOrKilled) {
  ASSERT_TRUE(runtime_->Create(Options("s")).ok());
  sandbox_.live.erase("s");  // the VMM died
  EXPECT_EQ(StatusOf("s"), "stopped");
  EXPECT_EQ(runtime_->Start("s").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(runtime_->Kill("s", SIGTERM, false).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(runtime_->Delete("s", false).ok());
}

TEST_F(RuntimeTest, FailedSandboxCreateLeavesNothingBehind) {
  sandbox_.fail_create = true;
  Status status = runtime_->Create(Options("f"));
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("creating container \"f\": VMM failed to start"), std::string::npos);
  EXPECT_FALSE(PathExists(dir_ + "/root/f"));
  EXPECT_FALSE(PathExists(dir_ + "/pid"));
  EXPECT_EQ(sandbox_.calls.back(), "destroy f");
}

TEST_F(RuntimeTest, InvalidBundleLeavesNothingBehind) {
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", R"({"ociVersion":"1.3.0","process":{"cwd":"x"}})").ok());
  Status status = runtime_->Create(Options("bad"));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("config.json is invalid"), std::string::npos);
  EXPECT_NE(status.message().find("process.user: required property is missing"), std::string::npos);
  EXPECT_FALSE(PathExists(dir_ + "/root/bad"));
  EXPECT_TRUE(sandbox_.calls.empty());
}

TEST_F(RuntimeTest, RunReturnsExitCodeAndRemovesContainer) {
  sandbox_.exit_code = 3;
  Result<int> code = runtime_->Run(Options("r"), false);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 3);
  EXPECT_FALSE(PathExists(dir_ + "/root/r"));
}

// A SIGTERM while the container is being made neither kills `run` half-way
// (which would leave the sandbox behind) nor is lost: it waits and is
// forwarded once the container runs.
TEST_F(RuntimeTest, RunDefersSignalsThatComeDuringCreate) {
  sandbox_.signal_during_create = SIGTERM;
  Result<int> code = runtime_->Run(Options("r"), false);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(sandbox_.calls, (std::vector<std::string>{"create r and start", "forward 15", "destroy r"}));
  EXPECT_FALSE(PathExists(dir_ + "/root/r"));
  sigset_t blocked;
  ::pthread_sigmask(SIG_BLOCK, nullptr, &blocked);
  EXPECT_FALSE(::sigismember(&blocked, SIGTERM)) << "the mask is restored";
}

// run starts the container as the create's last step (one trip to the
// guest fewer), unless a hook of the runtime's runs between create and start;
// poststart runs either way, with the state "running".
TEST_F(RuntimeTest, RunStartsWithTheCreateUnlessAHookRunsBetween) {
  const std::string log = dir_ + "/hooks.log";
  const oci::Hook poststart{.path = "/bin/sh",
                            .args = oci::StringList{"sh", "-c", "grep -o '\"status\":\"[a-z]*\"' >> " + log}};
  oci::Spec spec = oci::DefaultSpec({});
  spec.process->terminal = false;
  spec.hooks = oci::Hooks{};
  spec.hooks->poststart = std::vector<oci::Hook>{poststart};
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", oci::SpecToJson(spec)).ok());
  ASSERT_TRUE(runtime_->Run(Options("fused"), false).ok());
  EXPECT_EQ(sandbox_.calls, (std::vector<std::string>{"create fused and start", "destroy fused"}));
  EXPECT_EQ(ReadFile(log).value_or(""), "\"status\":\"running\"\n");

  sandbox_.calls.clear();
  spec.hooks->create_runtime = std::vector<oci::Hook>{oci::Hook{.path = "/bin/true"}};
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", oci::SpecToJson(spec)).ok());
  ASSERT_TRUE(runtime_->Run(Options("hooked"), false).ok());
  EXPECT_EQ(sandbox_.calls, (std::vector<std::string>{"create hooked", "start hooked", "destroy hooked"}));
  EXPECT_EQ(ReadFile(log).value_or(""), "\"status\":\"running\"\n\"status\":\"running\"\n");

  // create alone never starts.
  sandbox_.calls.clear();
  spec.hooks.reset();
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", oci::SpecToJson(spec)).ok());
  ASSERT_TRUE(runtime_->Create(Options("plain")).ok());
  EXPECT_EQ(sandbox_.calls, (std::vector<std::string>{"create plain"}));
  EXPECT_EQ(StatusOf("plain"), "created");
}

TEST_F(RuntimeTest, WithoutSandboxCreateFailsCleanly) {
  Runtime bare(RuntimeContext{.store = store_.get(), .sandbox = nullptr, .now = {}, .owner = ""});
  Status status = bare.Create(Options("n"));
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("sandbox-rt check"), std::string::npos);
  EXPECT_FALSE(PathExists(dir_ + "/root/n"));
}

TEST_F(RuntimeTest, ListAndForceDeleteOfUnknown) {
  ASSERT_TRUE(runtime_->Create(Options("b")).ok());
  ASSERT_TRUE(runtime_->Create(Options("a")).ok());
  Result<std::vector<oci::State>> states = runtime_->List();
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ((*states)[0].id, "a");
  EXPECT_TRUE(runtime_->Delete("ghost", true).ok());
  EXPECT_EQ(runtime_->Delete("ghost", false).code(), StatusCode::kNotFound);
}

// A create killed half-way (a client's timeout SIGKILLs it) cannot undo
// itself: the next state, list, kill or delete does, and answers as for a
// container that does not exist (delete: done, as runc's delete of it).
TEST_F(RuntimeTest, ACreateWhoseCreatorDiedIsUndoneByWhoeverLooksNext) {
  LeaveCreating("state", DeadProcess());
  Result<oci::State> state = runtime_->State("state");
  EXPECT_EQ(state.status().code(), StatusCode::kNotFound) << state.status().ToString();
  EXPECT_FALSE(PathExists(dir_ + "/root/state"));
  EXPECT_EQ(sandbox_.calls, std::vector<std::string>{"destroy state"});

  ASSERT_TRUE(runtime_->Create(Options("kept")).ok());
  LeaveCreating("listed", std::nullopt);  // died before it recorded itself
  Result<std::vector<oci::State>> listed = runtime_->List();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, "kept");
  EXPECT_FALSE(PathExists(dir_ + "/root/listed"));
  EXPECT_EQ(sandbox_.calls.back(), "destroy listed");

  const ProcessIdentity self = SelfIdentity();
  LeaveCreating("killed", ProcessIdentity{.pid = self.pid, .start_time = self.start_time + 1});  // a recycled pid
  EXPECT_EQ(runtime_->Kill("killed", SIGTERM, false).code(), StatusCode::kNotFound);
  EXPECT_FALSE(PathExists(dir_ + "/root/killed"));
  EXPECT_EQ(sandbox_.calls.back(), "destroy killed");

  LeaveCreating("deleted", DeadProcess());
  EXPECT_TRUE(runtime_->Delete("deleted", /*force=*/false).ok());
  EXPECT_FALSE(PathExists(dir_ + "/root/deleted"));
  EXPECT_EQ(sandbox_.calls.back(), "destroy deleted");
  EXPECT_FALSE(sandbox_.live.contains("deleted"));
}

// One whose creator still runs is left as it is (a live create holds the
// lock, so this guards the rule rather than a path the CLI takes).
TEST_F(RuntimeTest, ACreateWhoseCreatorRunsIsLeftAlone) {
  ASSERT_TRUE(runtime_->Create(Options("c")).ok());
  EXPECT_EQ(ReadFile(dir_ + "/root/c/creator").value_or(""), FormatIdentity(SelfIdentity()));
  LeaveCreating("busy", SelfIdentity());
  Result<oci::State> state = runtime_->State("busy");
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->status, "creating");
  Result<std::vector<oci::State>> listed = runtime_->List();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(runtime_->Kill("busy", SIGTERM, false).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(PathExists(dir_ + "/root/busy/state.json"));
  EXPECT_EQ(sandbox_.calls, std::vector<std::string>{"create c"});
}

TEST_F(RuntimeTest, HostHooksRunAtTheirStagesWithTheState) {
  // Each hook appends "<stage> <status> <pid>" to a log.
  auto log_hook = [&](const std::string& stage) {
    const std::string script = R"SH(state=$(cat)
status=$(echo "$state" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
pid=$(echo "$state" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
echo "$0 $status $pid" >> )SH" + dir_ + "/hooks.log";
    return oci::Hook{.path = "/bin/sh", .args = oci::StringList{"sh", "-c", script, stage}};
  };
  oci::Spec spec = oci::DefaultSpec({});
  spec.process->terminal = false;
  spec.hooks = oci::Hooks{};
  spec.hooks->prestart = std::vector<oci::Hook>{log_hook("prestart")};
  spec.hooks->create_runtime = std::vector<oci::Hook>{log_hook("createRuntime")};
  spec.hooks->poststart = std::vector<oci::Hook>{log_hook("poststart")};
  spec.hooks->poststop = std::vector<oci::Hook>{log_hook("poststop")};
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", oci::SpecToJson(spec)).ok());
  ASSERT_TRUE(runtime_->Create(Options("h")).ok());
  // The bundle may change after create: the hooks kept at create still run.
  spec.hooks->poststart->front().path = "/nonexistent";
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", oci::SpecToJson(spec)).ok());
  ASSERT_TRUE(runtime_->Start("h").ok());
  ASSERT_TRUE(runtime_->Delete("h", /*force=*/true).ok());
  EXPECT_EQ(ReadFile(dir_ + "/hooks.log").value_or(""),
            "prestart creating 4242\ncreateRuntime creating 4242\npoststart running 4242\npoststop stopped 4242\n");

  // A failing createRuntime hook stops the container and leaves nothing.
  spec.hooks->create_runtime = std::vector<oci::Hook>{
      oci::Hook{.path = "/bin/sh", .args = oci::StringList{"sh", "-c", "echo no network >&2; exit 1"}}};
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", oci::SpecToJson(spec)).ok());
  Status failed = runtime_->Create(Options("bad"));
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("hooks.createRuntime[0] /bin/sh: exited with status 1: no network"), std::string::npos)
      << failed.message();
  EXPECT_FALSE(PathExists(dir_ + "/root/bad"));
  EXPECT_EQ(sandbox_.calls.back(), "destroy bad");
  // A failing poststart or poststop hook is a warning: the lifecycle goes on.
  spec.hooks->create_runtime.reset();
  spec.hooks->poststart = std::vector<oci::Hook>{oci::Hook{.path = "/bin/false"}};
  spec.hooks->poststop = std::vector<oci::Hook>{oci::Hook{.path = "/bin/false"}};
  ASSERT_TRUE(WriteFileAtomic(bundle_ + "/config.json", oci::SpecToJson(spec)).ok());
  ASSERT_TRUE(runtime_->Create(Options("warn")).ok());
  EXPECT_TRUE(runtime_->Start("warn").ok());
  EXPECT_TRUE(runtime_->Delete("warn", /*force=*/true).ok());
}

TEST_F(RuntimeTest, UpdateAndExecValidateTheirInput) {
  ASSERT_TRUE(runtime_->Create(Options("u")).ok());
  ASSERT_TRUE(runtime_->Start("u").ok());
  oci::Resources resources;
  resources.cpu = oci::CpuResources{};
  resources.cpu->quota = 5;
  Status update = runtime_->Update("u", resources);
  EXPECT_EQ(update.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(update.message().find("linux.resources.cpu.quota"), std::string::npos);
  resources.cpu->quota = 50000;
  EXPECT_TRUE(runtime_->Update("u", resources).ok());

  oci::Process process = oci::DefaultSpec({}).process.value();
  process.cwd = "relative";
  Result<ExecResult> exec = runtime_->Exec("u", ExecRequest{.process = process});
  EXPECT_EQ(exec.status().code(), StatusCode::kInvalidArgument);
  process.cwd = "/";
  EXPECT_TRUE(runtime_->Exec("u", ExecRequest{.process = process}).ok());
  EXPECT_EQ(runtime_->Kill("u", 0, false).code(), StatusCode::kInvalidArgument);
}

TEST(ConsoleSocketTest, ATerminalNeedsASocketAndASocketNeedsATerminal) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-console-");
  Result<UniqueFd> listening = ListenUnix(dir.path() + "/console.sock", 1);
  ASSERT_TRUE(listening.ok());
  oci::Spec spec = oci::DefaultSpec({});
  spec.process->terminal = true;
  EXPECT_TRUE(CheckConsoleSocket(spec, dir.path() + "/console.sock").ok());
  Status refused = CheckConsoleSocket(spec, "");
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("process.terminal"), std::string::npos) << refused.message();
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/file", "").ok());
  refused = CheckConsoleSocket(spec, dir.path() + "/file");
  EXPECT_NE(refused.message().find("not a Unix socket"), std::string::npos) << refused.message();
  spec.process->console_size = oci::ConsoleSize{.height = 70000, .width = 80};
  refused = CheckConsoleSocket(spec, dir.path() + "/console.sock");
  EXPECT_NE(refused.message().find("process.consoleSize"), std::string::npos) << refused.message();
  spec.process->console_size.reset();
  spec.process->terminal = false;
  EXPECT_TRUE(CheckConsoleSocket(spec, "").ok());
  refused = CheckConsoleSocket(spec, dir.path() + "/console.sock");
  EXPECT_NE(refused.message().find("--console-socket"), std::string::npos) << refused.message();
}

}  // namespace
}  // namespace sandbox::shim
