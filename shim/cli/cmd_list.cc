#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/oci/state.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {
namespace {

void PrintTable(const std::vector<oci::State>& states) {
  std::vector<std::array<std::string, 6>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const oci::State& state : states) {
    // runc shows pid 0 for stopped containers.
    std::string pid = state.status == "stopped" ? "0" : std::to_string(state.pid.value_or(0));
    rows.push_back({state.id, pid, state.status, state.bundle, state.created.value_or(""), state.owner.value_or("")});
  }
  std::array<size_t, 6> widths{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

void AddListCommand(CLI::App& app, CliContext& context) {
  auto format = std::make_shared<std::string>("table");
  auto quiet = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("list", "list containers under --root");
  command->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  command->add_flag("-q,--quiet", *quiet, "print only the ids");
  command->callback([&context, format, quiet] {
    context.action = [&context, format, quiet] {
      Result<std::vector<oci::State>> states = context.runtime().List();
      if (!states.ok()) return Fail(states.status());
      if (*quiet) {
        for (const oci::State& state : *states) std::printf("%s\n", state.id.c_str());
      } else if (*format == "json") {
        nlohmann::json list = nlohmann::json::array();
        for (const oci::State& state : *states) list.push_back(nlohmann::json::parse(oci::StateToJson(state, -1)));
        std::printf("%s\n", list.dump().c_str());
      } else {
        PrintTable(*states);
      }
      return 0;
    };
  });
}

}  // namespace sandbox::cli
