#include "common/ttrpc/client.h"

#include <sys/socket.h>

#include "common/ttrpc/frame.h"
#include "common/ttrpc/status_code.h"
#include "ttrpc.pb.h"

namespace sandbox::ttrpc {

Client::Client(UniqueFd connection) : connection_(std::move(connection)) {
  reader_ = std::thread([this] { ReadLoop(); });
}

Client::~Client() {
  Shutdown();
  if (reader_.joinable()) reader_.join();
}

void Client::Shutdown() { ::shutdown(connection_.get(), SHUT_RDWR); }

void Client::FailAll(const Status& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!broken_) broken_ = status;
  for (auto& [id, pending] : pending_) {
    pending->done = true;
    pending->result = status;
  }
  pending_.clear();
  changed_.notify_all();
}

void Client::ReadLoop() {
  for (;;) {
    Result<Frame> frame = ReadFrame(connection_.get());
    if (!frame.ok()) {
      FailAll(frame.status());
      return;
    }
    if (frame->type != static_cast<uint8_t>(FrameType::kResponse) || frame->oversized) {
      FailAll(Unavailable(frame->oversized ? "ttrpc: response larger than the 4 MiB limit"
                                           : "ttrpc: unexpected frame type " + std::to_string(frame->type)));
      return;
    }
    Response response;
    Result<std::string> result = Internal("unset");
    if (!response.ParseFromString(frame->payload)) {
      result = Unavailable("ttrpc: malformed response on stream " + std::to_string(frame->stream_id));
    } else if (response.has_status() && response.status().code() != 0) {
      result = Status(FromRpcCode(response.status().code()), response.status().message());
    } else {
      result = response.payload();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = pending_.find(frame->stream_id);
    if (it == pending_.end()) continue;  // the caller gave up (deadline)
    it->second->done = true;
    it->second->result = std::move(result);
    pending_.erase(it);
    changed_.notify_all();
  }
}

Result<std::string> Client::Call(const std::string& service, const std::string& method, const std::string& payload,
                                 std::chrono::nanoseconds timeout, const Metadata& metadata) {
  Request request;
  request.set_service(service);
  request.set_method(method);
  request.set_payload(payload);
  request.set_timeout_nano(timeout.count());
  for (const auto& [key, value] : metadata) {
    KeyValue* entry = request.add_metadata();
    entry->set_key(key);
    entry->set_value(value);
  }
  std::string encoded;
  request.SerializeToString(&encoded);

  Pending pending;
  uint32_t stream_id = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (broken_) return *broken_;
    stream_id = next_stream_id_;
    next_stream_id_ += 2;
    pending_[stream_id] = &pending;
  }
  Status written;
  {
    std::lock_guard<std::mutex> lock(write_mutex_);
    written = WriteFrame(connection_.get(), stream_id, FrameType::kRequest, 0, encoded);
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (!written.ok()) {
    pending_.erase(stream_id);
    return written;
  }
  auto finished = [&] { return pending.done; };
  if (timeout.count() > 0) {
    if (!changed_.wait_for(lock, timeout, finished)) {
      pending_.erase(stream_id);
      return Status(StatusCode::kDeadlineExceeded, "ttrpc: " + service + "/" + method + " timed out after " +
                                                       std::to_string(timeout.count() / 1000000) + " ms");
    }
  } else {
    changed_.wait(lock, finished);
  }
  return std::move(pending.result);
}

}  // namespace sandbox::ttrpc
