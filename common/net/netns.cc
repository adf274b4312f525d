#include "common/net/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <system_error>
#include <thread>

#include "common/base/unique_fd.h"

namespace sandbox::net {
namespace {

// Runs `body` on a new thread and waits for it; a thread that cannot be
// started is an error, not an exception.
Status RunOnFreshThread(const std::function<Status()>& body) {
  Status result;
  try {
    std::thread thread([&] { result = body(); });
    thread.join();
  } catch (const std::system_error& error) {
    return Internal(std::string("starting a network namespace thread: ") + error.what());
  }
  return result;
}

}  // namespace

Status RunInNetns(const std::string& netns_path, const std::function<Status()>& work) {
  return RunOnFreshThread([&]() -> Status {
    const UniqueFd netns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns.valid()) return ErrnoStatus("open", netns_path);
    if (::setns(netns.get(), CLONE_NEWNET) != 0) return ErrnoStatus("setns", netns_path);
    return work();
  });
}

Status RunInNewNetns(const std::function<Status()>& work) {
  return RunOnFreshThread([&]() -> Status {
    if (::unshare(CLONE_NEWNET) != 0) return ErrnoStatus("unshare", "CLONE_NEWNET");
    return work();
  });
}

}  // namespace sandbox::net
