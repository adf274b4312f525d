#include "shim/runtime/hooks.h"

#include <fcntl.h>
#include <sched.h>

#include <cstdint>

#include "common/base/unique_fd.h"
#include "common/oci/hook_runner.h"

namespace sandbox::shim {

Status RunHooks(const std::string& stage, const std::vector<oci::Hook>& hooks, const oci::State& state) {
  return oci::RunHooks(stage, hooks, oci::StateToJson(state, -1));
}

Status RunHooksInNetworkNamespaceOf(int64_t pid, const std::string& stage, const std::vector<oci::Hook>& hooks,
                                    const oci::State& state) {
  const std::string theirs = "/proc/" + std::to_string(pid) + "/ns/net";
  UniqueFd container(::open(theirs.c_str(), O_RDONLY | O_CLOEXEC));
  if (!container.valid()) return ErrnoStatus("open", "hooks." + stage + ": " + theirs);
  UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own.valid()) return ErrnoStatus("open", "/proc/thread-self/ns/net");
  // Only this thread moves; the hooks it spawns start there.
  if (::setns(container.get(), CLONE_NEWNET) != 0) return ErrnoStatus("setns", "hooks." + stage + ": " + theirs);
  const Status ran = RunHooks(stage, hooks, state);
  if (::setns(own.get(), CLONE_NEWNET) != 0) return ErrnoStatus("setns", "back to the runtime's network namespace");
  return ran;
}

}  // namespace sandbox::shim
