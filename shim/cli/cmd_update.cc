#include <unistd.h>

#include <charconv>
#include <iostream>
#include <iterator>

#include "common/base/file_util.h"
#include "common/oci/spec_json.h"
#include "shim/cli/cli_context.h"

namespace sandbox::cli {
namespace {

struct UpdateArgs {
  std::string id;
  std::string resources_file;
  std::string memory, memory_reservation, memory_swap;
  std::optional<int64_t> cpu_quota, pids_limit;
  std::optional<uint64_t> cpu_period, cpu_shares;
  std::optional<uint16_t> blkio_weight;
  std::string cpuset_cpus, cpuset_mems;
};

// "512m", "1G", "4096" or "-1" -> bytes (binary units, as runc's --memory).
Result<int64_t> ParseBytes(const std::string& flag, const std::string& text) {
  if (text == "-1") return int64_t{-1};
  int64_t number = 0;
  const char* end = text.data() + text.size();
  auto [rest, error] = std::from_chars(text.data(), end, number);
  std::string suffix(rest, end);
  int shift = -1;
  if (suffix.empty() || suffix == "b" || suffix == "B") shift = 0;
  if (suffix == "k" || suffix == "K" || suffix == "kb" || suffix == "KB" || suffix == "KiB") shift = 10;
  if (suffix == "m" || suffix == "M" || suffix == "mb" || suffix == "MB" || suffix == "MiB") shift = 20;
  if (suffix == "g" || suffix == "G" || suffix == "gb" || suffix == "GB" || suffix == "GiB") shift = 30;
  if (error != std::errc() || number < 0 || shift < 0 || number > (INT64_MAX >> shift)) {
    return InvalidArgument(flag + ": \"" + text + "\" is not a size like 512m, 1g or a byte count");
  }
  return number << shift;
}

Result<oci::Resources> BuildResources(const UpdateArgs& args) {
  oci::Resources resources;
  if (!args.resources_file.empty()) {
    std::string text;
    if (args.resources_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      SANDBOX_ASSIGN_OR_RETURN(text, ReadFile(args.resources_file));
    }
    oci::FieldErrors errors = oci::ParseResources(text, resources);
    if (!errors.empty()) return oci::FieldErrorsToStatus(args.resources_file + " is invalid", errors);
  }
  auto memory = [&]() -> oci::MemoryResources& {
    if (!resources.memory) resources.memory = oci::MemoryResources{};
    return *resources.memory;
  };
  auto cpu = [&]() -> oci::CpuResources& {
    if (!resources.cpu) resources.cpu = oci::CpuResources{};
    return *resources.cpu;
  };
  if (!args.memory.empty()) { SANDBOX_ASSIGN_OR_RETURN(memory().limit, ParseBytes("--memory", args.memory)); }
  if (!args.memory_reservation.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(memory().reservation, ParseBytes("--memory-reservation", args.memory_reservation));
  }
  if (!args.memory_swap.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(memory().swap, ParseBytes("--memory-swap", args.memory_swap));
  }
  if (args.cpu_quota) cpu().quota = args.cpu_quota;
  if (args.cpu_period) cpu().period = args.cpu_period;
  if (args.cpu_shares) cpu().shares = args.cpu_shares;
  if (!args.cpuset_cpus.empty()) cpu().cpus = args.cpuset_cpus;
  if (!args.cpuset_mems.empty()) cpu().mems = args.cpuset_mems;
  if (args.pids_limit) resources.pids = oci::PidsResources{.limit = args.pids_limit, .unknown = {}};
  if (args.blkio_weight) {
    resources.block_io = oci::BlockIoResources{};
    resources.block_io->weight = args.blkio_weight;
  }
  return resources;
}

}  // namespace

void AddUpdateCommand(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<UpdateArgs>();
  CLI::App* command = app.add_subcommand("update", "change the resource limits of a container");
  AddIdArgument(*command, args->id);
  command->add_option("-r,--resources", args->resources_file, "resources JSON file (- for stdin)");
  command->add_option("--memory", args->memory, "memory limit (e.g. 512m, -1 for none)");
  command->add_option("--memory-reservation", args->memory_reservation, "memory soft limit");
  command->add_option("--memory-swap", args->memory_swap, "memory+swap limit");
  command->add_option("--cpu-quota", args->cpu_quota, "CFS quota in microseconds (-1 for none)");
  command->add_option("--cpu-period", args->cpu_period, "CFS period in microseconds");
  command->add_option("--cpu-share", args->cpu_shares, "CPU shares (relative weight)");
  command->add_option("--cpuset-cpus", args->cpuset_cpus, "CPUs allowed, e.g. 0-2,4");
  command->add_option("--cpuset-mems", args->cpuset_mems, "memory nodes allowed");
  command->add_option("--pids-limit", args->pids_limit, "maximum number of processes");
  command->add_option("--blkio-weight", args->blkio_weight, "block IO weight, 10 to 1000");
  command->callback([&context, args] {
    context.action = [&context, args] {
      Result<oci::Resources> resources = BuildResources(*args);
      if (!resources.ok()) return Fail(resources.status());
      Status status = context.runtime().Update(args->id, *resources);
      return status.ok() ? 0 : Fail(status);
    };
  });
}

}  // namespace sandbox::cli
