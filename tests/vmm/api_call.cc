// api_call SOCKET REQUEST: sends one request line to sandbox-vmm's control
// API and prints the answer line. Exit 0 when the answer says "ok": true.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/base/unix_socket.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: api_call SOCKET '{\"op\":\"status\"}'\n");
    return 2;
  }
  sandbox::Result<sandbox::UniqueFd> connected = sandbox::ConnectUnix(argv[1]);
  if (!connected.ok()) {
    std::fprintf(stderr, "api_call: %s\n", connected.status().message().c_str());
    return 1;
  }
  const int fd = connected->get();
  const std::string request = std::string(argv[2]) + "\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return 1;
  std::string answer;
  char byte;
  while (::read(fd, &byte, 1) == 1 && byte != '\n') answer.push_back(byte);
  std::printf("%s\n", answer.c_str());
  return answer.find("\"ok\":true") != std::string::npos ? 0 : 1;
}
