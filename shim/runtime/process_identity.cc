#include "shim/runtime/process_identity.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>

#include "common/base/file_util.h"
#include "common/base/unique_fd.h"

namespace sandbox::shim {

std::optional<uint64_t> ProcessStartTime(pid_t pid) {
  Result<std::string> stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return std::nullopt;
  // The command (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 2));
  std::string field;
  for (int index = 3; index <= 22 && fields >> field; ++index) {
    if (index == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return std::nullopt;
}

bool IsRunning(const ProcessIdentity& process) {
  if (process.pid <= 0) return false;
  const std::optional<uint64_t> start = ProcessStartTime(process.pid);
  if (!start || *start != process.start_time) return false;
  // A zombie has exited: only its parent has not reaped it yet.
  Result<std::string> stat = ReadFile("/proc/" + std::to_string(process.pid) + "/stat");
  const size_t close = stat.ok() ? stat->rfind(')') : std::string::npos;
  return close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 'Z';
}

ProcessIdentity SelfIdentity() {
  const pid_t self = ::getpid();
  return {.pid = self, .start_time = ProcessStartTime(self).value_or(0)};
}

std::string FormatIdentity(const ProcessIdentity& process) {
  return std::to_string(process.pid) + " " + std::to_string(process.start_time);
}

Result<ProcessIdentity> ParseIdentity(const std::string& text) {
  std::istringstream fields(text);
  ProcessIdentity process;
  if (!(fields >> process.pid >> process.start_time) || process.pid <= 0) {
    return InvalidArgument("bad process identity \"" + text + "\"");
  }
  return process;
}

std::optional<ProcessIdentity> ReadIdentity(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return std::nullopt;
  Result<ProcessIdentity> identity = ParseIdentity(*text);
  if (!identity.ok()) return std::nullopt;
  return *identity;
}

bool WaitForExit(const ProcessIdentity& process, std::chrono::milliseconds timeout) {
  if (!IsRunning(process)) return true;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, process.pid, 0)));
  if (!pidfd.valid()) return !IsRunning(process);
  // The pid may have been recycled between the check and pidfd_open.
  if (!IsRunning(process)) return true;
  pollfd exited{pidfd.get(), POLLIN, 0};
  const int ready = ::poll(&exited, 1, static_cast<int>(timeout.count()));
  return ready == 1 || !IsRunning(process);
}

void KillAndWait(const ProcessIdentity& process) {
  if (!IsRunning(process)) return;
  ::kill(process.pid, SIGKILL);
  (void)WaitForExit(process, std::chrono::seconds(10));
}

}  // namespace sandbox::shim
