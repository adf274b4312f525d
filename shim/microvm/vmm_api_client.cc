#include "shim/microvm/vmm_api_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/base/unique_fd.h"
#include "common/base/unix_socket.h"

namespace sandbox::shim {

Result<std::string> CallVmmApi(const std::string& socket_path, const std::string& op) {
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd fd, ConnectUnix(socket_path));
  const std::string request = nlohmann::json{{"op", op}}.dump() + "\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    return ErrnoStatus("send", socket_path);
  }
  std::string line;
  char buffer[256];
  while (line.find('\n') == std::string::npos) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
    if (got <= 0) return Unavailable("VMM API " + socket_path + ": connection closed before the answer");
    line.append(buffer, static_cast<size_t>(got));
  }
  const nlohmann::json answer = nlohmann::json::parse(line.substr(0, line.find('\n')), nullptr, false);
  if (!answer.is_object() || !answer.contains("ok") || !answer["ok"].is_boolean()) {
    return Internal("VMM API " + op + ": malformed answer");
  }
  if (!answer["ok"].get<bool>()) {
    const std::string error = answer.value("error", std::string("unknown error"));
    return FailedPrecondition("VMM API " + op + ": " + error);
  }
  return answer.value("state", std::string());
}

}  // namespace sandbox::shim
