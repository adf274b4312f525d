// `run` in the foreground with process.terminal and no --console-socket,
// as runc does it: the runtime is its own console-socket client. The pty
// master it receives is relayed to and from this process's stdin/stdout;
// when stdin is a terminal it is put in raw mode (keys such as ^C reach the
// container's terminal as bytes) and its size is copied to the pty, now and
// on every SIGWINCH.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/base/status.h"
#include "common/base/temp_dir.h"
#include "common/base/unique_fd.h"
#include "common/io/resize_watcher.h"
#include "common/io/stream_relay.h"
#include "common/io/terminal.h"

namespace sandbox::shim {

class ForegroundConsole {
 public:
  // A console socket in a private temp dir. Call before the process starts
  // threads (ResizeWatcher).
  static Result<std::unique_ptr<ForegroundConsole>> Listen();
  // Waits for the output to drain (bounded), restores the terminal.
  ~ForegroundConsole();
  ForegroundConsole(const ForegroundConsole&) = delete;
  ForegroundConsole& operator=(const ForegroundConsole&) = delete;

  const std::string& socket_path() const { return socket_path_; }
  // Once create returned: takes the pty master sent to the socket and
  // starts relaying.
  Status Attach();

 private:
  ForegroundConsole(TempDir dir, std::string socket_path) : dir_(std::move(dir)), socket_path_(std::move(socket_path)) {}

  TempDir dir_;
  std::string socket_path_;
  UniqueFd listener_;
  UniqueFd master_;
  std::unique_ptr<ResizeWatcher> resizes_;
  std::optional<RawTerminalMode> raw_mode_;
  // Shared with the stdin relay, which is never joined.
  std::shared_ptr<StopSignal> stop_ = std::make_shared<StopSignal>();
  std::unique_ptr<OutputRelays> output_;
};

// The console-socket protocol's receiving side (runc's utils.RecvFd): one
// connection on `listener`, one message naming the pty, the master attached.
Result<UniqueFd> ReceiveConsole(int listener);

}  // namespace sandbox::shim
