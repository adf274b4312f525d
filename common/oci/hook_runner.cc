#include "common/oci/hook_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "common/base/unique_fd.h"

extern char** environ;

namespace sandbox::oci {
namespace {

// What a hook may print that its error quotes.
constexpr size_t kOutputLimit = 4096;

}  // namespace

Status RunHook(const std::string& name, const Hook& hook, const std::string& state_json) {
  // The state goes into the pipe before the hook starts: it fits the pipe's
  // buffer (grown when needed), so a hook that never reads it cannot block us.
  int input[2], output[2];
  if (::pipe2(input, O_CLOEXEC) != 0 || ::pipe2(output, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", name);
  UniqueFd input_read(input[0]), input_write(input[1]), output_read(output[0]), output_write(output[1]);
  if (state_json.size() > 65536) (void)::fcntl(input_write.get(), F_SETPIPE_SZ, static_cast<int>(state_json.size()));
  if (::write(input_write.get(), state_json.data(), state_json.size()) != static_cast<ssize_t>(state_json.size())) {
    return ErrnoStatus("write", name + ": the state to its stdin");
  }
  input_write.Reset();

  std::vector<std::string> args = hook.args.value_or(StringList{hook.path});
  if (args.empty()) args.push_back(hook.path);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = hook.env.value_or(StringList{});
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, output_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, output_write.get(), 2);
  // Nothing else the runtime holds (preserved fds, channels) reaches a hook.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, hook.path.c_str(), &actions, nullptr, argv.data(),
                                    hook.env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return ErrnoStatus("spawn", name, spawned);
  input_read.Reset();
  output_write.Reset();

  // Its output until EOF and its exit, both within the timeout.
  UniqueFd process(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  const bool limited = hook.timeout.has_value();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(hook.timeout.value_or(0));
  std::string printed;
  bool exited = false, timed_out = false;
  while (!exited) {
    int wait_ms = -1;
    if (limited) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd events[2] = {{process.get(), POLLIN, 0}, {output_read.valid() ? output_read.get() : -1, POLLIN, 0}};
    if (::poll(events, 2, wait_ms) < 0 && errno != EINTR) return ErrnoStatus("poll", name);
    if (events[1].revents & (POLLIN | POLLHUP)) {
      char buffer[1024];
      const ssize_t got = ::read(output_read.get(), buffer, sizeof(buffer));
      if (got > 0 && printed.size() < kOutputLimit) printed.append(buffer, static_cast<size_t>(got));
      if (got == 0) output_read.Reset();
    }
    // Exited, and what it printed is read (or someone it left holds the pipe).
    if (events[0].revents & POLLIN) exited = !output_read.valid() || !(events[1].revents & POLLIN);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (printed.size() > kOutputLimit) printed.resize(kOutputLimit);
  const std::string quoted = printed.empty() ? "" : ": " + printed;
  if (timed_out) {
    return Status(StatusCode::kDeadlineExceeded,
                  name + ": killed after its timeout of " + std::to_string(*hook.timeout) + " s" + quoted);
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0) return FailedPrecondition(name + ": exited with status " + std::to_string(code) + quoted);
  return Status::Ok();
}

Status RunHooks(const std::string& stage, const std::vector<Hook>& hooks, const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    SANDBOX_RETURN_IF_ERROR(RunHook("hooks." + stage + "[" + std::to_string(i) + "] " + hooks[i].path, hooks[i], state_json));
  }
  return Status::Ok();
}

}  // namespace sandbox::oci
