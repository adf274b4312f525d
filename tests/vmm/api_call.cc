// api_call SOCKET REQUEST [FILE...]: sends one request line to sandbox-vmm's
// control API and prints the answer line. Each FILE is created (truncated)
// and its fd sent with the request (SCM_RIGHTS), as the snapshot op wants.
// Exit 0 when the answer says "ok": true.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/base/fd_passing.h"
#include "common/base/unix_socket.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: api_call SOCKET '{\"op\":\"status\"}' [FILE...]\n");
    return 2;
  }
  sandbox::Result<sandbox::UniqueFd> connected = sandbox::ConnectUnix(argv[1]);
  if (!connected.ok()) {
    std::fprintf(stderr, "api_call: %s\n", connected.status().message().c_str());
    return 1;
  }
  std::vector<sandbox::UniqueFd> files;
  std::vector<int> fds;
  for (int i = 3; i < argc; ++i) {
    files.emplace_back(::open(argv[i], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!files.back().valid()) {
      std::perror(argv[i]);
      return 1;
    }
    fds.push_back(files.back().get());
  }
  const int fd = connected->get();
  const std::string request = std::string(argv[2]) + "\n";
  const sandbox::Status sent = sandbox::SendWithFds(fd, request.data(), request.size(), fds);
  if (!sent.ok()) {
    std::fprintf(stderr, "api_call: %s\n", sent.message().c_str());
    return 1;
  }
  std::string answer;
  char byte;
  while (::read(fd, &byte, 1) == 1 && byte != '\n') answer.push_back(byte);
  std::printf("%s\n", answer.c_str());
  return answer.find("\"ok\":true") != std::string::npos ? 0 : 1;
}
