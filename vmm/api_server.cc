#include "vmm/api_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/base/fd_passing.h"
#include "common/base/unix_socket.h"

namespace sandbox::vmm {
namespace {

using nlohmann::json;

std::string Answer(const Status& status, const std::string& state, json answer = json::object()) {
  answer["ok"] = status.ok();
  if (status.ok()) {
    answer["state"] = state;
  } else {
    answer["error"] = status.message();
  }
  return answer.dump() + "\n";
}

// The snapshot op's "shared_ranges": [{"address": N, "size": N}, ...], each
// number an unsigned integer (the Machine checks what they describe).
Result<std::vector<GuestRange>> ParseSharedRanges(const json& request) {
  std::vector<GuestRange> ranges;
  const auto found = request.find("shared_ranges");
  if (found == request.end()) return ranges;
  if (!found->is_array()) return InvalidArgument("shared_ranges: must be an array of {\"address\", \"size\"}");
  for (size_t i = 0; i < found->size(); ++i) {
    const json& item = (*found)[i];
    const std::string name = "shared_ranges[" + std::to_string(i) + "]";
    if (!item.is_object() || item.size() != 2 || !item.contains("address") || !item.contains("size")) {
      return InvalidArgument(name + ": must be an object with exactly \"address\" and \"size\"");
    }
    if (!item["address"].is_number_unsigned() || !item["size"].is_number_unsigned()) {
      return InvalidArgument(name + ": address and size must be non-negative integers");
    }
    ranges.push_back({item["address"].get<uint64_t>(), item["size"].get<uint64_t>()});
  }
  return ranges;
}

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::Create(const std::string& path, EventLoop& loop, VmControl& vm) {
  std::unique_ptr<ApiServer> server(new ApiServer(path, loop, vm));
  Result<UniqueFd> listener = ListenUnix(path, 16, SOCK_NONBLOCK);
  if (!listener.ok()) return listener.status().Wrap("api_socket");
  server->listener_ = std::move(listener).value();
  ApiServer* self = server.get();
  SANDBOX_RETURN_IF_ERROR(loop.Add(server->listener_.get(), EPOLLIN, [self](uint32_t) { self->OnAccept(); }));
  return server;
}

ApiServer::~ApiServer() {
  for (auto& [fd, client] : clients_) loop_.Remove(fd);
  if (shutdown_timer_.valid()) loop_.Remove(shutdown_timer_.get());
  if (listener_.valid()) {
    loop_.Remove(listener_.get());
    ::unlink(path_.c_str());
  }
}

void ApiServer::OnAccept() {
  for (;;) {
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client.valid()) return;
    const int fd = client.get();
    if (!loop_.Add(fd, EPOLLIN, [this, fd](uint32_t) { OnClient(fd); }).ok()) continue;
    clients_[fd] = Client{std::move(client), {}};
  }
}

void ApiServer::OnClient(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& client = it->second;
  char buffer[1024];
  Result<ReceivedFds> received = ReceiveWithFds(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
  if (received.ok() && received->would_block) return;
  bool close = !received.ok() || received->bytes == 0;
  if (!close) {
    client.buffer.append(buffer, received->bytes);
    for (UniqueFd& passed : received->fds) client.fds.push_back(std::move(passed));
  }
  size_t newline;
  while (!close && (newline = client.buffer.find('\n')) != std::string::npos) {
    // Fds sent with a request belong to the first line after them.
    const std::string answer = Handle(client.buffer.substr(0, newline), std::move(client.fds));
    client.fds.clear();
    client.buffer.erase(0, newline + 1);
    // Answers are small; a client that does not read them is dropped.
    if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(answer.size())) {
      close = true;
    }
  }
  if (client.buffer.size() > kMaxRequestLine) {
    const std::string answer = Answer(InvalidArgument("request line longer than 4096 bytes"), "");
    [[maybe_unused]] ssize_t sent = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    close = true;
  }
  if (close) {
    loop_.Remove(fd);
    clients_.erase(it);
  }
}

std::string ApiServer::Handle(const std::string& line, std::vector<UniqueFd> fds) {
  json request;
  try {
    request = json::parse(line);
  } catch (const json::exception&) {  // parse_error, and out_of_range for a number like 1e400
    return Answer(InvalidArgument("request is not a JSON object"), "");
  }
  if (!request.is_object() || !request.contains("op") || !request["op"].is_string()) {
    return Answer(InvalidArgument("op: required, a string"), "");
  }
  const std::string op = request["op"];
  for (const auto& [key, value] : request.items()) {
    if (key != "op" && !(op == "shutdown" && key == "timeout_ms") && !(op == "snapshot" && key == "shared_ranges")) {
      return Answer(InvalidArgument(key + ": unknown key for op \"" + op + "\""), "");
    }
  }
  if (op == "status") return Answer(Status::Ok(), vm_.state());
  if (op == "pause") {
    const Status paused = vm_.Pause();
    return Answer(paused, vm_.state());
  }
  if (op == "resume") {
    const Status resumed = vm_.Resume();
    return Answer(resumed, vm_.state());
  }
  if (op == "shutdown") {
    uint64_t timeout_ms = kDefaultShutdownTimeoutMs;
    if (request.contains("timeout_ms")) {
      if (!request["timeout_ms"].is_number_unsigned()) return Answer(InvalidArgument("timeout_ms: must be a non-negative integer"), "");
      timeout_ms = request["timeout_ms"];
    }
    spdlog::info("api: shutdown requested; forcing it after {} ms", timeout_ms);
    if (vm_.state() == "paused") (void)vm_.Resume();  // a paused guest cannot shut down
    vm_.RequestGuestShutdown();
    ArmShutdownTimer(timeout_ms);
    return Answer(Status::Ok(), "stopping");
  }
  if (op == "snapshot") {
    if (fds.size() != 2) {
      return Answer(InvalidArgument("snapshot: send two fds with the request (SCM_RIGHTS): the state file's, then "
                                    "the memory file's, both open for writing"),
                    vm_.state());
    }
    Result<std::vector<GuestRange>> shared = ParseSharedRanges(request);
    if (!shared.ok()) return Answer(shared.status(), vm_.state());
    const Status saved = vm_.Snapshot(std::move(fds[0]), std::move(fds[1]), std::move(shared).value());
    return Answer(saved, vm_.state());
  }
  if (op == "balloon") {
    Result<BalloonDevice::Stats> balloon = vm_.Balloon();
    if (!balloon.ok()) return Answer(balloon.status(), "");
    return Answer(Status::Ok(), vm_.state(),
                  json{{"reports", balloon->reports}, {"reported_bytes", balloon->reported_bytes}});
  }
  if (op == "vcpus") {
    Result<std::vector<std::string>> vcpus = vm_.DescribeVcpus();
    if (!vcpus.ok()) return Answer(vcpus.status(), "");
    return Answer(Status::Ok(), vm_.state(), json{{"vcpus", *vcpus}});
  }
  return Answer(InvalidArgument("op: unknown operation \"" + op + "\" (status, pause, resume, shutdown, vcpus, snapshot, balloon)"), "");
}

void ApiServer::ArmShutdownTimer(uint64_t timeout_ms) {
  if (timeout_ms == 0) {
    vm_.ForceStop();
    return;
  }
  if (!shutdown_timer_.valid()) {
    shutdown_timer_ = UniqueFd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!shutdown_timer_.valid() || !loop_.Add(shutdown_timer_.get(), EPOLLIN, [this](uint32_t) {
          spdlog::warn("api: the guest did not shut down in time; stopping it");
          vm_.ForceStop();
        }).ok()) {
      vm_.ForceStop();
      return;
    }
  }
  itimerspec expiry{};
  expiry.it_value.tv_sec = static_cast<time_t>(timeout_ms / 1000);
  expiry.it_value.tv_nsec = static_cast<long>((timeout_ms % 1000) * 1'000'000);
  timerfd_settime(shutdown_timer_.get(), 0, &expiry, nullptr);
}

}  // namespace sandbox::vmm
