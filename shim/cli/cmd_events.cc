#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "shim/cli/cli_context.h"

namespace sandbox::cli {
namespace {

std::string StatsEvent(const std::string& id, const shim::ContainerStats& stats) {
  // The shape of runc's `events` stats records, limited to what the guest reports.
  nlohmann::json event = {
      {"type", "stats"},
      {"id", id},
      {"data",
       {{"cpu", {{"usage", {{"total", stats.cpu_usage_ns}}}}},
        {"memory", {{"usage", {{"usage", stats.memory_usage_bytes}, {"limit", stats.memory_limit_bytes}}}}},
        {"pids", {{"current", stats.pids_current}}}}},
  };
  return event.dump();
}

}  // namespace

void AddEventsCommand(CLI::App& app, CliContext& context) {
  auto id = std::make_shared<std::string>();
  auto stats_once = std::make_shared<bool>(false);
  auto interval_s = std::make_shared<double>(5.0);
  CLI::App* command = app.add_subcommand("events", "print container stats as JSON, once or every interval");
  AddIdArgument(*command, *id);
  command->add_flag("--stats", *stats_once, "print one stats record and exit");
  command->add_option("--interval", *interval_s, "seconds between records")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->callback([&context, id, stats_once, interval_s] {
    context.action = [&context, id, stats_once, interval_s] {
      for (;;) {
        Result<shim::ContainerStats> stats = context.runtime().Stats(*id);
        if (!stats.ok()) {
          // The container ending is the normal end of the stream.
          Result<oci::State> state = context.runtime().State(*id);
          if (!*stats_once && state.ok() && state->status == "stopped") return 0;
          return Fail(stats.status());
        }
        std::printf("%s\n", StatsEvent(*id, *stats).c_str());
        std::fflush(stdout);
        if (*stats_once) return 0;
        // Periodic sampling, not synchronisation: the interval is the user's.
        std::this_thread::sleep_for(std::chrono::duration<double>(*interval_s));
      }
    };
  });
}

}  // namespace sandbox::cli
