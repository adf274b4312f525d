#include "shim/runtime/foreground_console.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/base/fd_passing.h"
#include "common/base/unix_socket.h"
#include "common/io/process_relay.h"

namespace sandbox::shim {
namespace {

constexpr auto kConsoleAcceptLimit = std::chrono::seconds(30);

}  // namespace

Result<UniqueFd> ReceiveConsole(int listener) {
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd connection, AcceptWithin(listener, kConsoleAcceptLimit, "the console socket"));
  char name[4096];
  SANDBOX_ASSIGN_OR_RETURN(ReceivedFd received, ReceiveWithFd(connection.get(), name, sizeof(name)));
  if (!received.fd.valid()) return Internal("the console socket got a message without the pty master");
  return std::move(received.fd);
}

Result<std::unique_ptr<ForegroundConsole>> ForegroundConsole::Listen() {
  SANDBOX_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("/tmp/sandbox-rt-console-"));
  const std::string path = dir.path() + "/console.sock";
  std::unique_ptr<ForegroundConsole> console(new ForegroundConsole(std::move(dir), path));
  SANDBOX_ASSIGN_OR_RETURN(console->listener_, ListenUnix(path, 1));
  SANDBOX_ASSIGN_OR_RETURN(console->resizes_, ResizeWatcher::Create());
  return console;
}

Status ForegroundConsole::Attach() {
  SANDBOX_ASSIGN_OR_RETURN(master_, ReceiveConsole(listener_.get()));
  listener_.Reset();
  if (::isatty(STDIN_FILENO)) {
    Result<RawTerminalMode> raw = RawTerminalMode::Enter(STDIN_FILENO);
    if (raw.ok()) raw_mode_.emplace(std::move(raw).value());
    resizes_->Start([this] {
      Result<WindowSize> size = GetWindowSize(STDIN_FILENO);
      if (size.ok()) (void)SetWindowSize(master_.get(), *size);
    });
  }
  // stdin: never waited for (the caller may never close it).
  UniqueFd input(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
  if (input.valid()) {
    std::thread([from = std::move(input), to = UniqueFd(::fcntl(master_.get(), F_DUPFD_CLOEXEC, 3)),
                 stop = stop_]() mutable { RelayStream(from.get(), to.get(), stop->fd()); })
        .detach();
  }
  output_ = std::make_unique<OutputRelays>();
  // Ends with EIO when the runtime's end of the pty closes (the container exited).
  output_->Add(UniqueFd(::fcntl(master_.get(), F_DUPFD_CLOEXEC, 3)),
               UniqueFd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)), stop_->fd());
  return Status::Ok();
}

ForegroundConsole::~ForegroundConsole() {
  if (output_ && !output_->WaitAll(kOutputDrainLimit)) {
    stop_->Set();
    (void)output_->WaitAll(kOutputDrainLimit);  // they end at the stop
  }
  resizes_.reset();
  raw_mode_.reset();
  stop_->Set();
}

}  // namespace sandbox::shim
