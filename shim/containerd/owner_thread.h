// A thread that runs what it is given and lives until it is destroyed. The
// helpers a sandbox spawns (sandbox-vmm, virtiofsd) are killed when the
// *thread* that forked them ends (PR_SET_PDEATHSIG follows the parent thread,
// not the process), so the shim forks them from one of these, which lives as
// long as their pod, instead of from a ttrpc request's thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace sandbox::shim::containerd {

class OwnerThread {
 public:
  OwnerThread() : thread_([this] { Loop(); }) {}
  OwnerThread(const OwnerThread&) = delete;
  OwnerThread& operator=(const OwnerThread&) = delete;
  ~OwnerThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    posted_.notify_all();
    thread_.join();
  }

  // Runs `work` on the owner thread and returns its result.
  template <class Work>
  auto Run(Work work) -> decltype(work()) {
    std::packaged_task<decltype(work())()> task(std::move(work));
    auto result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back([&task] { task(); });
    }
    posted_.notify_all();
    return result.get();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> work;
      {
        std::unique_lock lock(mutex_);
        posted_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        work = std::move(queue_.front());
        queue_.pop_front();
      }
      work();
    }
  }

  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sandbox::shim::containerd
