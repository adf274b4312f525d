// cri-client: a crictl-like client of the Kubernetes CRI (runtime.v1) for the
// e2e tests (tests/cri/README.md). This file only wires the flags to the
// commands (commands.h).
//
// Exit codes: 0 success; 1 a failed call or an unreadable input file, the cause
// on stderr; 2 a command-line error; exec-sync exits with the command's code.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "tests/cri/commands.h"
#include "tests/cri/cri_client.h"

namespace {

using sandbox::Result;
using sandbox::Status;
using sandbox::cri::CriClient;
namespace commands = sandbox::cri::commands;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// What the command line says: the global flags, every command's arguments (a
// run uses those of its one command) and the action of the command parsed.
struct Invocation {
  std::string endpoint;
  int timeout_seconds = 60;
  std::string id;
  std::string pod_config;
  std::string container_config;
  std::string handler;
  std::string image;
  std::string pod_filter;
  bool verbose = false;
  int64_t stop_timeout = 0;
  int64_t exec_timeout = 0;
  std::vector<std::string> cmd;
  // Set by the command that parsed; its exit code or its failure.
  std::function<Result<int>(const CriClient&)> action;
};

Result<int> ExitCode(const Status& status) {
  if (!status.ok()) return status;
  return 0;
}

// Makes the subcommand's callback install `run` as the action.
void OnParse(CLI::App& command, Invocation& invocation,
             std::function<Status(const CriClient&)> run) {
  command.callback([&invocation, run = std::move(run)] {
    invocation.action = [run](const CriClient& client) { return ExitCode(run(client)); };
  });
}

CLI::App& AddIdCommand(CLI::App& app, Invocation& invocation, const char* name,
                       const char* description, const char* id_name) {
  CLI::App& command = *app.add_subcommand(name, description);
  command.add_option(id_name, invocation.id, "the id runp or create printed")->required();
  return command;
}

void AddPodCommands(CLI::App& app, Invocation& inv) {
  CLI::App& version = *app.add_subcommand("version", "print the runtime's VersionResponse");
  OnParse(version, inv, [](const CriClient& c) { return commands::Version(c, std::cout); });

  CLI::App& runp =
      *app.add_subcommand("runp", "run a pod from a PodSandboxConfig JSON file; prints its id");
  runp.add_option("POD_CONFIG", inv.pod_config, "PodSandboxConfig JSON file")->required();
  runp.add_option("--runtime", inv.handler, "runtime handler (containerd's runtime name)");
  OnParse(runp, inv, [&inv](const CriClient& c) {
    return commands::Runp(c, inv.pod_config, inv.handler, std::cout);
  });

  CLI::App& stopp = AddIdCommand(app, inv, "stopp", "stop a pod", "POD_ID");
  OnParse(stopp, inv, [&inv](const CriClient& c) { return commands::Stopp(c, inv.id, std::cout); });
  CLI::App& rmp = AddIdCommand(app, inv, "rmp", "remove a pod", "POD_ID");
  OnParse(rmp, inv, [&inv](const CriClient& c) { return commands::Rmp(c, inv.id, std::cout); });

  CLI::App& inspectp =
      AddIdCommand(app, inv, "inspectp", "print a pod's PodSandboxStatusResponse", "POD_ID");
  inspectp.add_flag("--verbose", inv.verbose, "ask for the runtime's info map");
  OnParse(inspectp, inv, [&inv](const CriClient& c) {
    return commands::Inspectp(c, inv.id, inv.verbose, std::cout);
  });

  CLI::App& pods = *app.add_subcommand("pods", "print the ListPodSandboxResponse");
  OnParse(pods, inv, [](const CriClient& c) { return commands::Pods(c, std::cout); });
}

void AddContainerLifecycleCommands(CLI::App& app, Invocation& inv) {
  CLI::App& create =
      AddIdCommand(app, inv, "create", "create a container in a pod; prints its id", "POD_ID");
  create.add_option("CONTAINER_CONFIG", inv.container_config, "ContainerConfig JSON file")
      ->required();
  create.add_option("POD_CONFIG", inv.pod_config, "the pod's PodSandboxConfig JSON file")
      ->required();
  OnParse(create, inv, [&inv](const CriClient& c) {
    return commands::Create(c, inv.id, inv.container_config, inv.pod_config, std::cout);
  });

  CLI::App& start = AddIdCommand(app, inv, "start", "start a created container", "ID");
  OnParse(start, inv, [&inv](const CriClient& c) { return commands::Start(c, inv.id, std::cout); });

  CLI::App& stop = AddIdCommand(app, inv, "stop", "stop a container", "ID");
  stop.add_option("--stop-timeout", inv.stop_timeout, "seconds before it is killed")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  OnParse(stop, inv, [&inv](const CriClient& c) {
    return commands::Stop(c, inv.id, inv.stop_timeout, std::cout);
  });

  CLI::App& rm = AddIdCommand(app, inv, "rm", "remove a container", "ID");
  OnParse(rm, inv, [&inv](const CriClient& c) { return commands::Rm(c, inv.id, std::cout); });
}

void AddContainerQueryCommands(CLI::App& app, Invocation& inv) {
  CLI::App& inspect =
      AddIdCommand(app, inv, "inspect", "print a container's ContainerStatusResponse", "ID");
  inspect.add_flag("--verbose", inv.verbose, "ask for the runtime's info map");
  OnParse(inspect, inv, [&inv](const CriClient& c) {
    return commands::Inspect(c, inv.id, inv.verbose, std::cout);
  });

  CLI::App& ps = *app.add_subcommand("ps", "print the ListContainersResponse (all states)");
  ps.add_option("--pod", inv.pod_filter, "only the containers of this pod");
  OnParse(ps, inv,
          [&inv](const CriClient& c) { return commands::Ps(c, inv.pod_filter, std::cout); });

  CLI::App& stats =
      AddIdCommand(app, inv, "stats", "print a container's ContainerStatsResponse", "ID");
  OnParse(stats, inv, [&inv](const CriClient& c) { return commands::Stats(c, inv.id, std::cout); });
}

void AddExecSyncCommand(CLI::App& app, Invocation& inv) {
  CLI::App& exec =
      AddIdCommand(app, inv, "exec-sync",
                   "run a command in a container; relays its output, exits with its code", "ID");
  exec.add_option("--exec-timeout", inv.exec_timeout,
                  "seconds before the command is stopped (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  exec.add_option("CMD", inv.cmd, "the command and its arguments (after --)")->required();
  exec.callback([&inv] {
    inv.action = [&inv](const CriClient& c) {
      return commands::ExecSync(c, inv.id, inv.cmd, inv.exec_timeout, std::cout, std::cerr);
    };
  });
}

void AddImageCommands(CLI::App& app, Invocation& inv) {
  CLI::App& images = *app.add_subcommand("images", "print the ListImagesResponse");
  OnParse(images, inv, [](const CriClient& c) { return commands::Images(c, std::cout); });

  CLI::App& status = *app.add_subcommand("image-status", "print an image's ImageStatusResponse");
  status.add_option("REF", inv.image, "image name, id or digest")->required();
  status.add_flag("--verbose", inv.verbose, "ask for the runtime's info map");
  OnParse(status, inv, [&inv](const CriClient& c) {
    return commands::ImageStatus(c, inv.image, inv.verbose, std::cout);
  });
}

int Fail(const Status& status, int exit_code) {
  std::fprintf(stderr, "cri-client: %s\n", status.message().c_str());
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  Invocation inv;
  CLI::App app{"cri-client: a crictl-like client of the Kubernetes CRI (runtime.v1), for tests",
               "cri-client"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--endpoint", inv.endpoint, "CRI socket: unix:///run/containerd/containerd.sock")
      ->required();
  app.add_option("--timeout", inv.timeout_seconds, "deadline of each call, in seconds")
      ->check(CLI::Range(1, 24 * 3600))
      ->capture_default_str();
  AddPodCommands(app, inv);
  AddContainerLifecycleCommands(app, inv);
  AddContainerQueryCommands(app, inv);
  AddExecSyncCommand(app, inv);
  AddImageCommands(app, inv);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help exits 0; every command-line error exits 2.
    return app.exit(error) == 0 ? 0 : kExitUsage;
  }
  Result<CriClient> client = CriClient::Create(
      {.endpoint = inv.endpoint, .timeout = std::chrono::seconds(inv.timeout_seconds)});
  if (!client.ok()) return Fail(client.status(), kExitUsage);
  if (!inv.action) return kExitUsage;  // unreachable: require_subcommand(1)
  Result<int> exit_code = inv.action(*client);
  if (!exit_code.ok()) return Fail(exit_code.status(), kExitFailure);
  return *exit_code;
}
