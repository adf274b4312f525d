// The command line containerd gives a shim v2 binary: Go-style flags
// (-name value, -name=value, --name value; -debug alone) then the action,
// "start" or "delete", or none for the long-lived server that start spawns.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"

namespace sandbox::shim::containerd {

struct ShimArgs {
  std::string namespace_name;  // -namespace: containerd's namespace
  std::string address;         // -address: containerd's gRPC socket
  std::string publish_binary;  // -publish-binary: containerd itself, for `publish`
  std::string id;              // -id: the task (container) id
  std::string bundle;          // -bundle: delete's bundle (start's is its cwd)
  std::string socket;          // -socket: where the server listens (set by start)
  bool debug = false;          // -debug
  std::string action;          // "start", "delete" or "" (serve)
};

// Unknown flags and actions, and a flag without its value, are errors naming them.
Result<ShimArgs> ParseShimArgs(const std::vector<std::string>& argv);

// The server's argv (without argv[0]): the same flags, with -socket, no action.
std::vector<std::string> ServeArgs(const ShimArgs& args, const std::string& socket);

}  // namespace sandbox::shim::containerd
