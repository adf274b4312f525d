// api_call SOCKET REQUEST: sends one request line to sandbox-vmm's control
// API and prints the answer line. Exit 0 when the answer says "ok": true.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: api_call SOCKET '{\"op\":\"status\"}'\n");
    return 2;
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", argv[1]);
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    std::fprintf(stderr, "api_call: connect %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  const std::string request = std::string(argv[2]) + "\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return 1;
  std::string answer;
  char byte;
  while (::read(fd, &byte, 1) == 1 && byte != '\n') answer.push_back(byte);
  std::printf("%s\n", answer.c_str());
  return answer.find("\"ok\":true") != std::string::npos ? 0 : 1;
}
