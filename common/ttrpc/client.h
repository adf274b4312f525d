// A ttrpc client over one connected stream fd (Unix socket, hybrid vsock).
// Thread-safe: many calls may be in flight at once, each on its own odd
// stream id; one reader thread delivers responses in any order. When the
// peer vanishes or sends a malformed frame, every pending and later call
// fails with kUnavailable naming the cause.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::ttrpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;

class Client {
 public:
  explicit Client(UniqueFd connection);
  ~Client();  // shuts the connection down and joins the reader
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends service/method with a serialised request; returns the serialised
  // response, or the server's status, or kDeadlineExceeded after `timeout`
  // (also sent to the server as timeout_nano). timeout 0 means no deadline.
  Result<std::string> Call(const std::string& service, const std::string& method, const std::string& payload,
                           std::chrono::nanoseconds timeout = std::chrono::seconds(30),
                           const Metadata& metadata = {});
  // Ends the connection from any thread: pending and later calls fail with
  // kUnavailable (how a caller stops another thread's blocking call).
  void Shutdown();

 private:
  struct Pending {
    bool done = false;
    Result<std::string> result = Internal("no response");
  };
  void ReadLoop();
  void FailAll(const Status& status);

  UniqueFd connection_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<uint32_t, Pending*> pending_;  // guarded by mutex_
  uint32_t next_stream_id_ = 1;           // odd: client-initiated
  std::optional<Status> broken_;          // set once the connection is unusable
  std::mutex write_mutex_;                // one frame at a time
  std::thread reader_;
};

}  // namespace sandbox::ttrpc
