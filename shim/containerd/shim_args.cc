#include "shim/containerd/shim_args.h"

#include <map>

namespace sandbox::shim::containerd {

Result<ShimArgs> ParseShimArgs(const std::vector<std::string>& argv) {
  ShimArgs args;
  const std::map<std::string, std::string ShimArgs::*> valued = {
      {"namespace", &ShimArgs::namespace_name}, {"address", &ShimArgs::address},
      {"publish-binary", &ShimArgs::publish_binary}, {"id", &ShimArgs::id},
      {"bundle", &ShimArgs::bundle}, {"socket", &ShimArgs::socket}};
  for (size_t index = 0; index < argv.size(); ++index) {
    const std::string& word = argv[index];
    if (word.empty() || word[0] != '-') {
      if (!args.action.empty() || (word != "start" && word != "delete")) {
        return InvalidArgument("unknown action \"" + word + "\" (want start or delete)");
      }
      args.action = word;
      continue;
    }
    std::string name = word.substr(word.starts_with("--") ? 2 : 1);
    std::optional<std::string> value;
    if (const size_t equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    }
    if (name == "debug") {
      args.debug = !value || *value == "true" || *value == "1";
      continue;
    }
    const auto field = valued.find(name);
    if (field == valued.end()) return InvalidArgument("unknown flag -" + name);
    if (!value) {
      if (index + 1 >= argv.size()) return InvalidArgument("flag -" + name + " needs a value");
      value = argv[++index];
    }
    args.*(field->second) = *value;
  }
  return args;
}

std::vector<std::string> ServeArgs(const ShimArgs& args, const std::string& socket) {
  std::vector<std::string> argv = {"-namespace", args.namespace_name, "-address", args.address,
                                   "-publish-binary", args.publish_binary, "-id", args.id, "-socket", socket};
  if (args.debug) argv.push_back("-debug");
  return argv;
}

}  // namespace sandbox::shim::containerd
