#include "agent/oom_watcher.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "common/base/file_util.h"

namespace sandbox::agent {

std::optional<uint64_t> ParseOomKills(std::string_view memory_events) {
  constexpr std::string_view kKey = "oom_kill ";
  size_t at = 0;
  while (at < memory_events.size()) {
    const size_t end = std::min(memory_events.find('\n', at), memory_events.size());
    const std::string_view line = memory_events.substr(at, end - at);
    if (line.starts_with(kKey)) {
      uint64_t count = 0;
      const std::string_view digits = line.substr(kKey.size());
      const auto [rest, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
      if (error != std::errc() || rest != digits.data() + digits.size()) return std::nullopt;
      return count;
    }
    at = end + 1;
  }
  return std::nullopt;
}

Result<std::unique_ptr<OomWatcher>> OomWatcher::Create() {
  UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify.valid()) return ErrnoStatus("inotify_init1", "the OOM watcher");
  return std::unique_ptr<OomWatcher>(new OomWatcher(std::move(inotify)));
}

Status OomWatcher::Watch(const std::string& container_id, const std::string& memory_events) {
  SANDBOX_ASSIGN_OR_RETURN(std::string text, ReadFile(memory_events));
  const std::optional<uint64_t> count = ParseOomKills(text);
  if (!count) return Internal(memory_events + ": no oom_kill count");
  const int watch = ::inotify_add_watch(inotify_.get(), memory_events.c_str(), IN_MODIFY);
  if (watch < 0) return ErrnoStatus("inotify_add_watch", memory_events);
  std::lock_guard lock(mutex_);
  watches_[watch] = Watched{.container_id = container_id, .path = memory_events, .oom_kills = *count};
  return Status::Ok();
}

void OomWatcher::Unwatch(const std::string& container_id) {
  std::lock_guard lock(mutex_);
  for (auto it = watches_.begin(); it != watches_.end(); ++it) {
    if (it->second.container_id != container_id) continue;
    (void)::inotify_rm_watch(inotify_.get(), it->first);
    watches_.erase(it);
    return;
  }
}

void OomWatcher::Collect() {
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(inotify_.get(), buffer, sizeof(buffer));
    if (got <= 0) return;  // EAGAIN: all read
    std::lock_guard lock(mutex_);
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      auto watched = watches_.find(event->wd);
      if (watched == watches_.end()) continue;
      if (event->mask & IN_IGNORED) {  // the cgroup went away
        watches_.erase(watched);
        continue;
      }
      const Result<std::string> text = ReadFile(watched->second.path);
      const std::optional<uint64_t> count = text.ok() ? ParseOomKills(*text) : std::nullopt;
      if (!count || *count <= watched->second.oom_kills) continue;
      watched->second.oom_kills = *count;
      pending_.push_back(watched->second.container_id);
    }
  }
}

std::string OomWatcher::Next(std::chrono::steady_clock::time_point deadline) {
  std::lock_guard reading(reading_);
  for (;;) {
    Collect();
    {
      std::lock_guard lock(mutex_);
      if (!pending_.empty()) {
        std::string container_id = std::move(pending_.front());
        pending_.pop_front();
        return container_id;
      }
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd readable{inotify_.get(), POLLIN, 0};
    (void)::poll(&readable, 1, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
  }
}

}  // namespace sandbox::agent
