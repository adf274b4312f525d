#include <cstdio>
#include <nlohmann/json.hpp>

#include "shim/cli/cli_context.h"

namespace sandbox::cli {

void AddPsCommand(CLI::App& app, CliContext& context) {
  auto id = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("table");
  CLI::App* command = app.add_subcommand("ps", "list the processes running in a container");
  AddIdArgument(*command, *id);
  command->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  command->callback([&context, id, format] {
    context.action = [&context, id, format] {
      Result<std::vector<shim::ProcessInfo>> processes = context.runtime().Ps(*id);
      if (!processes.ok()) return Fail(processes.status());
      if (*format == "json") {
        // runc prints the pids as a JSON array.
        nlohmann::json pids = nlohmann::json::array();
        for (const shim::ProcessInfo& process : *processes) pids.push_back(process.pid);
        std::printf("%s\n", pids.dump().c_str());
        return 0;
      }
      std::printf("%-8s %-8s %s\n", "UID", "PID", "CMD");
      for (const shim::ProcessInfo& process : *processes) {
        std::printf("%-8u %-8lld %s\n", process.uid, static_cast<long long>(process.pid), process.command.c_str());
      }
      return 0;
    };
  });
}

}  // namespace sandbox::cli
