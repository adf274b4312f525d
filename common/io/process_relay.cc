#include "common/io/process_relay.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace sandbox {

ProcessRelay::ProcessRelay(ProcessStreamEnds host, ProcessStreamEnds guest,
                           const std::vector<FdAccess>& preserved_access) {
  if (guest.stdio[0].valid()) RelayInBackground(std::move(host.stdio[0]), std::move(guest.stdio[0]), stop_);
  for (size_t stream = 1; stream < 3; ++stream) {
    if (guest.stdio[stream].valid()) {
      output_.Add(std::move(guest.stdio[stream]), std::move(host.stdio[stream]), stop_->fd());
    }
  }
  const size_t preserved = std::min({host.preserved.size(), guest.preserved.size(), preserved_access.size()});
  for (size_t index = 0; index < preserved; ++index) {
    RelayPreservedFd(std::move(host.preserved[index]), preserved_access[index], std::move(guest.preserved[index]),
                     output_, stop_);
  }
}

ProcessRelay::~ProcessRelay() {
  if (!drained_) stop_->Set();
}

void ProcessRelay::Drain() {
  drained_ = true;
  if (!output_.WaitAll(kOutputDrainLimit)) stop_->Set();
}

BackgroundWait::BackgroundWait(std::function<Result<int>()> wait) : shared_(std::make_shared<Shared>()) {
  shared_->done.Reset(::eventfd(0, EFD_CLOEXEC));
  thread_ = std::thread([shared = shared_, wait = std::move(wait)] {
    shared->exit_code = wait();
    const uint64_t one = 1;
    (void)!::write(shared->done.get(), &one, sizeof(one));
  });
}

BackgroundWait::~BackgroundWait() {
  if (thread_.joinable()) thread_.join();
}

Result<int> BackgroundWait::Join() {
  if (thread_.joinable()) thread_.join();
  return shared_->exit_code;
}

void BackgroundWait::Abandon() {
  if (thread_.joinable()) thread_.detach();
}

}  // namespace sandbox
