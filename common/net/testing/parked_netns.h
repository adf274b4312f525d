// Test support: a network namespace reachable by path, as a pod's
// /var/run/netns/<name> is. Shared by common/net and shim/network tests so
// there is one copy of the thread-parking logic.
#pragma once

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/status.h"

namespace sandbox::net::testing {

// A thread parked in a new, empty network namespace, so tests can reach it
// through /proc/self/task/<tid>/ns/net (e.g. with RunInNetns). The namespace
// lives until the object is destroyed (unless something in it, an open
// socket or TAP fd, keeps it alive longer).
class ParkedNetns {
 public:
  ParkedNetns() {
    thread_ = std::thread([this] {
      const Status status =
          ::unshare(CLONE_NEWNET) == 0 ? Status::Ok() : ErrnoStatus("unshare", "CLONE_NEWNET");
      std::unique_lock lock(mutex_);
      status_ = status;
      path_ = "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net";
      ready_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return done_; });
    });
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return ready_; });
  }
  ~ParkedNetns() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  ParkedNetns(const ParkedNetns&) = delete;
  ParkedNetns& operator=(const ParkedNetns&) = delete;

  const Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool ready_ = false;
  bool done_ = false;
  Status status_;
  std::string path_;
  std::thread thread_;
};

}  // namespace sandbox::net::testing
