#include "shim/microvm/vmm_api_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/base/fd_passing.h"
#include "common/base/unique_fd.h"
#include "common/base/unix_socket.h"

namespace sandbox::shim {

namespace {

// One request line, {"op": op} and `arguments` (with `fds`, SCM_RIGHTS), one
// answer line within `timeout`.
Result<nlohmann::json> Call(const std::string& socket_path, const std::string& op, std::span<const int> fds,
                            std::chrono::seconds timeout, nlohmann::json arguments = nlohmann::json::object()) {
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd fd, ConnectUnix(socket_path));
  // A wedged VMM must not hold its caller: pausing parks every vCPU first.
  const timeval receive_timeout{.tv_sec = static_cast<time_t>(timeout.count()), .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof(receive_timeout));
  arguments["op"] = op;
  const std::string request = arguments.dump() + "\n";
  if (fds.empty()) {
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      return ErrnoStatus("send", socket_path);
    }
  } else {
    SANDBOX_RETURN_IF_ERROR(SendWithFds(fd.get(), request.data(), request.size(), fds));
  }
  std::string line;
  char buffer[1024];
  while (line.find('\n') == std::string::npos) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
    if (got < 0 && errno == EAGAIN) {
      return Unavailable("VMM API " + op + ": no answer within " + std::to_string(timeout.count()) + " s");
    }
    if (got <= 0) return Unavailable("VMM API " + socket_path + ": connection closed before the answer");
    line.append(buffer, static_cast<size_t>(got));
  }
  nlohmann::json answer = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
  if (!answer.is_object() || !answer.contains("ok") || !answer["ok"].is_boolean()) {
    return Internal("VMM API " + op + ": malformed answer");
  }
  if (!answer["ok"].get<bool>()) {
    const std::string error = answer.value("error", std::string("unknown error"));
    return FailedPrecondition("VMM API " + op + ": " + error);
  }
  return answer;
}

}  // namespace

Result<nlohmann::json> CallVmmApiAnswer(const std::string& socket_path, const std::string& op) {
  return Call(socket_path, op, {}, std::chrono::seconds(10));
}

Status SnapshotVm(const std::string& socket_path, int state_fd, int memory_fd,
                  const std::vector<GuestMemoryRange>& shared_ranges, std::chrono::seconds timeout) {
  const int fds[] = {state_fd, memory_fd};
  nlohmann::json arguments = nlohmann::json::object();
  if (!shared_ranges.empty()) {
    nlohmann::json& ranges = arguments["shared_ranges"] = nlohmann::json::array();
    for (const GuestMemoryRange& range : shared_ranges) ranges.push_back({{"address", range.address}, {"size", range.size}});
  }
  return Call(socket_path, "snapshot", fds, timeout, std::move(arguments)).status();
}

Result<std::string> CallVmmApi(const std::string& socket_path, const std::string& op) {
  SANDBOX_ASSIGN_OR_RETURN(nlohmann::json answer, CallVmmApiAnswer(socket_path, op));
  const auto state = answer.find("state");
  return state != answer.end() && state->is_string() ? state->get<std::string>() : std::string();
}

std::string DescribeGuestVcpus(const std::string& socket_path) {
  Result<nlohmann::json> answer = CallVmmApiAnswer(socket_path, "vcpus");
  if (!answer.ok()) return answer.status().message();
  const auto vcpus = answer->find("vcpus");
  if (vcpus == answer->end() || !vcpus->is_array()) return "VMM API vcpus: no \"vcpus\" in the answer";
  std::string text;
  for (const nlohmann::json& line : *vcpus) {
    if (!line.is_string()) continue;
    if (!text.empty()) text.push_back('\n');
    text.append(line.get_ref<const std::string&>());
  }
  return text;
}

}  // namespace sandbox::shim
