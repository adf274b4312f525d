// Task events to containerd, through the publish binary containerd named
// (-publish-binary): `<binary> --address <ttrpc address> publish --topic T
// --namespace N`, with the event as a google.protobuf.Any on stdin. Events
// go out in order on a thread of their own, so a slow containerd never
// blocks a Task call; a failed publish is logged, not retried.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sandbox::shim::containerd {

struct Event {
  std::string topic;      // "/tasks/exit"
  std::string type_name;  // the Any's type URL: "containerd.events.TaskExit"
  std::string payload;    // the serialised event message
};

// The Any containerd's `publish` reads from stdin.
std::string EncodeEventAny(const Event& event);

class EventPublisher {
 public:
  // `log` gets a line per failed publish.
  EventPublisher(std::vector<std::string> publish_command, std::string namespace_name,
                 std::function<void(const std::string&)> log);
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;
  // Publishes what is queued, then stops.
  ~EventPublisher();

  void Publish(Event event);

 private:
  void Run();

  std::vector<std::string> command_;  // the binary and --address ADDRESS
  std::string namespace_name_;
  std::function<void(const std::string&)> log_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Event> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sandbox::shim::containerd
