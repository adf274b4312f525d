// Containers' OOM kills, as the guest kernel counts them in each container
// cgroup's memory.events ("oom_kill N"): inotify says when that file
// changes (cgroup v2 notifies every counter update), and a rise of the count
// is one event for the shim to publish (containerd's TaskOOM).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::agent {

// The oom_kill count of a memory.events text; nullopt without one.
std::optional<uint64_t> ParseOomKills(std::string_view memory_events);

class OomWatcher {
 public:
  static Result<std::unique_ptr<OomWatcher>> Create();

  // Watches `memory_events` (a cgroup's memory.events) for `container_id`,
  // from its current count on.
  Status Watch(const std::string& container_id, const std::string& memory_events);
  void Unwatch(const std::string& container_id);

  // Blocks until a watched count rises or `deadline` passes: the container's
  // id, or an empty string at the deadline. One caller reads at a time.
  std::string Next(std::chrono::steady_clock::time_point deadline);

 private:
  struct Watched {
    std::string container_id;
    std::string path;
    uint64_t oom_kills = 0;
  };
  explicit OomWatcher(UniqueFd inotify) : inotify_(std::move(inotify)) {}
  // Reads what inotify has and queues the containers whose count rose.
  void Collect();

  UniqueFd inotify_;
  std::mutex reading_;  // one Next at a time
  std::mutex mutex_;    // watches_, pending_
  std::map<int, Watched> watches_;  // by watch descriptor
  std::deque<std::string> pending_;
};

}  // namespace sandbox::agent
