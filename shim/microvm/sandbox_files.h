// The files of one microVM sandbox, all under the container's state dir
// (<root>/<id>), so removing that dir removes every trace on the host.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "common/base/unique_fd.h"

namespace sandbox::shim {

struct SandboxFiles {
  explicit SandboxFiles(const std::string& dir)
      : dir(dir),
        vmm_config(dir + "/vmm.json"),
        monitor_plan(dir + "/monitor.json"),
        container_config(dir + "/config.json"),
        rootfs_image(dir + "/rootfs.img"),
        vm_dir(dir + "/vm"),
        vsock(vm_dir + "/vsock"),
        api(dir + "/api.sock"),
        console(dir + "/console.log"),
        vmm_log(dir + "/vmm.log"),
        vmm_pid(dir + "/vmm.pid"),
        monitor_pid(dir + "/monitor.pid"),
        virtiofs_socket(dir + "/virtiofs.sock"),
        shared_dir(dir + "/shared"),
        virtiofsd_log(dir + "/virtiofsd.log"),
        started(dir + "/started"),
        exit_status(dir + "/exit_status"),
        network(dir + "/network.json") {}

  std::string dir;
  std::string vmm_config;        // sandbox-vmm --config
  std::string monitor_plan;      // what the monitor needs besides the above
  std::string container_config;  // config.json as validated at create
  std::string rootfs_image;      // the bundle's rootfs as erofs/ext4, /dev/vda in the guest
  // The jailed sandbox-vmm's root (vmm/sandboxing/jail.h): root-owned, 0710
  // with the VMM's group, and holding only the vsock sockets.
  std::string vm_dir;
  std::string vsock;             // hybrid vsock socket; <vsock>_P are the stdio listeners
  std::string api;               // sandbox-vmm control API
  std::string console;           // the guest console (boot errors quote its tail)
  std::string vmm_log;           // sandbox-vmm's own stderr
  std::string vmm_pid;           // "<pid> <start time>"
  std::string monitor_pid;       // the same, written by the monitor as it starts
  std::string virtiofs_socket;   // virtiofsd's vhost-user socket (host bind mounts)
  std::string shared_dir;        // what virtiofsd serves: mount points of the binds
  std::string virtiofsd_log;     // virtiofsd's output
  std::string started;           // exists once StartContainer succeeded
  std::string exit_status;       // the container's shell-style status, once it ended
  std::string network;           // the pod netns and the interfaces mirrored in it (guest_network.h)
};

// Guest vsock ports of the container's stdio streams (the agent is on 1024).
inline constexpr uint32_t kStdinPort = 1025;
inline constexpr uint32_t kStdoutPort = 1026;
inline constexpr uint32_t kStderrPort = 1027;
// The container's --preserve-fds streams: fd 3+i on port kFirstExtraFdPort+i.
inline constexpr uint32_t kFirstExtraFdPort = 1028;

// "<vsock>_<port>": where sandbox-vmm connects when the guest connects to
// host vsock port `port`.
std::string GuestPortSocket(const std::string& vsock, uint32_t port);

// Listens on GuestPortSocket(vsock, port) for the VMM. The socket is 0666:
// the jailed VMM runs as another uid, and vm_dir (0710) keeps everyone but
// root and the VMM's group out.
Result<UniqueFd> ListenForGuestPort(const std::string& vsock, uint32_t port);

// Makes files.vm_dir: group `vmm_gid` when the VMM is jailed, else root's only.
Status MakeVmDir(const SandboxFiles& files, bool jailed, uint32_t vmm_gid);

}  // namespace sandbox::shim
