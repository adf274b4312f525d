#include "shim/containerd/event_publisher.h"

#include <google/protobuf/any.pb.h>

#include "common/base/subprocess.h"

namespace sandbox::shim::containerd {

std::string EncodeEventAny(const Event& event) {
  google::protobuf::Any any;
  any.set_type_url(event.type_name);
  any.set_value(event.payload);
  return any.SerializeAsString();
}

EventPublisher::EventPublisher(std::vector<std::string> publish_command, std::string namespace_name,
                               std::function<void(const std::string&)> log)
    : command_(std::move(publish_command)), namespace_name_(std::move(namespace_name)), log_(std::move(log)) {
  thread_ = std::thread([this] { Run(); });
}

EventPublisher::~EventPublisher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  thread_.join();
}

void EventPublisher::Publish(Event event) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(event));
  }
  queued_.notify_all();
}

void EventPublisher::Run() {
  for (;;) {
    Event event;
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      event = std::move(queue_.front());
      queue_.pop_front();
    }
    std::vector<std::string> argv = command_;
    argv.insert(argv.end(), {"publish", "--topic", event.topic, "--namespace", namespace_name_});
    Result<CommandResult> published = RunCommand(argv, EncodeEventAny(event));
    if (!published.ok()) {
      log_("publishing " + event.topic + ": " + published.status().message());
    } else if (published->exit_code != 0) {
      log_("publishing " + event.topic + ": status " + std::to_string(published->exit_code) + ": " + published->output);
    }
  }
}

}  // namespace sandbox::shim::containerd
