#include "shim/microvm/vm_template.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/image/digest.h"
#include "shim/microvm/guest_network.h"
#include "shim/microvm/microvm_sandbox.h"
#include "shim/microvm/sandbox_files.h"
#include "shim/microvm/sandbox_vm.h"
#include "shim/microvm/vmm_api_client.h"
#include "vmm/config.h"

namespace sandbox::shim {
namespace {

constexpr char kStateFile[] = "/vm.state";
constexpr char kMemoryFile[] = "/vm.memory";

// A file's identity: a kernel rebuilt or a sandbox-vmm upgraded in place
// changes its inode, size or mtime.
Result<nlohmann::json> FileIdentity(const std::string& path, const char* what) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return ErrnoStatus("stat", std::string(what) + " " + path);
  return nlohmann::json{{"path", path},
                        {"device", info.st_dev},
                        {"inode", info.st_ino},
                        {"size", info.st_size},
                        {"mtime_ns", info.st_mtim.tv_sec * 1'000'000'000LL + info.st_mtim.tv_nsec}};
}

std::string TemplateVmmConfig(const MicroVmConfig& boot, const VmSize& size, const TemplateDevices& devices,
                              const std::string& work) {
  nlohmann::json config =
      nlohmann::json::parse(VmmConfigJson(boot, size, work, /*rootfs_image=*/false, devices.shared_fs));
  if (devices.nics > 0) config["net"] = nlohmann::json::parse(TemplateNicsJson(devices.nics));
  return config.dump(2);
}

// The guest reports the RAM it has freed (free page reporting) about two
// seconds after its balloon driver started, which is after its agent is
// ready: what it freed while booting (the initramfs archive, init memory)
// then leaves the template's memory file as holes instead of being copied
// into every clone. A report comes in chains of at most 32 blocks: the wait
// ends once they stop coming. Without a report in time the template is only bigger.
void WaitForFreePageReport(const std::string& api) {
  constexpr auto kLimit = std::chrono::seconds(8);
  constexpr auto kQuiet = std::chrono::milliseconds(300);
  const auto deadline = std::chrono::steady_clock::now() + kLimit;
  uint64_t reports = 0;
  auto changed = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    Result<nlohmann::json> answer = CallVmmApiAnswer(api, "balloon");
    if (!answer.ok()) return;  // no balloon device, or no answer: snapshot as it is
    const uint64_t now_reports = answer->value("reports", uint64_t{0});
    if (now_reports != reports) {
      reports = now_reports;
      changed = std::chrono::steady_clock::now();
    } else if (reports > 0 && std::chrono::steady_clock::now() - changed >= kQuiet) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Where the agent's executable lies in the template's RAM, which its clones
// then share with it instead of each copying it. Only a saving: without
// them (an agent or guest kernel that cannot say) every clone copies those
// pages, as the warning says.
std::vector<GuestMemoryRange> AgentSharedRanges(AgentClient& agent) {
  Result<std::vector<GuestMemoryRange>> shared = agent.GetSharedRanges(vmm::kMaxSharedRanges);
  if (!shared.ok()) {
    std::fprintf(stderr, "sandbox-rt: template: the agent named no shared RAM (%s); each clone copies it\n",
                 shared.status().message().c_str());
    return {};
  }
  return std::move(shared).value();
}

// Boots the template's VM in `work`, snapshots it there, and stops it.
Status BootAndSnapshot(const MicroVmConfig& boot, const VmSize& size, const TemplateDevices& devices,
                       const std::string& work) {
  const SandboxFiles files(work);
  SANDBOX_RETURN_IF_ERROR(MakeDirs(work, 0700));
  SANDBOX_RETURN_IF_ERROR(MakeVmDir(files, boot.jail_vmm, boot.vmm_gid));
  SANDBOX_RETURN_IF_ERROR(WriteFileAtomic(files.vmm_config, TemplateVmmConfig(boot, size, devices, work), 0600));
  const PhaseLog quiet(/*print=*/false);
  SandboxVm vm(files,
               {.vmm = boot.vmm, .virtiofsd = boot.virtiofsd, .boot_timeout_ms = boot.boot_timeout_ms,
                .jail = boot.jail_vmm, .shared_fs_without_shares = devices.shared_fs},
               quiet);
  SANDBOX_RETURN_IF_ERROR(vm.Start());
  SANDBOX_RETURN_IF_ERROR(vm.WaitForAgent([] { return Status::Ok(); }));
  const std::vector<GuestMemoryRange> shared = AgentSharedRanges(vm.agent());
  WaitForFreePageReport(files.api);
  Status saved = vm.Snapshot(work + kStateFile, work + kMemoryFile, shared);
  if (!saved.ok()) return Status(saved.code(), saved.message() + "; sandbox-vmm: " + LogTail(files.vmm_log));
  vm.Stop(std::chrono::milliseconds(0));
  return Status::Ok();
}

}  // namespace

Result<std::string> VmTemplateKey(const MicroVmConfig& boot, const VmSize& size, const TemplateDevices& devices) {
  nlohmann::json shape = {{"cmdline", boot.kernel_cmdline}, {"vcpus", size.vcpus},
                          {"memory_mib", size.memory_mib},  {"shared_fs", devices.shared_fs},
                          {"jail", boot.jail_vmm},          {"vmm_uid", boot.vmm_uid},
                          {"vmm_gid", boot.vmm_gid}, {"nics", devices.nics}};
  if (devices.nics > 0) {
    // What the guest's NICs took at the template's boot, and restores rely on.
    shape["nic_mac_0"] = TemplateNicMac(0).ToString();
    shape["nic_mtu"] = vmm::kMaxMtu;
  }
  SANDBOX_ASSIGN_OR_RETURN(shape["vmm"], FileIdentity(boot.vmm, "sandbox-vmm"));
  SANDBOX_ASSIGN_OR_RETURN(shape["kernel"], FileIdentity(boot.kernel, "the guest kernel"));
  SANDBOX_ASSIGN_OR_RETURN(shape["initrd"], FileIdentity(boot.initrd, "the guest initramfs"));
  SANDBOX_ASSIGN_OR_RETURN(image::Hasher hasher, image::Hasher::Create("sha256"));
  const std::string text = shape.dump();
  hasher.Update(text.data(), text.size());
  return hasher.Finish().hex.substr(0, 32);
}

Result<VmTemplate> EnsureVmTemplate(const MicroVmConfig& boot, const VmSize& size, const TemplateDevices& devices) {
  SANDBOX_ASSIGN_OR_RETURN(std::string key, VmTemplateKey(boot, size, devices));
  const std::string dir = boot.template_dir + "/" + key;
  const VmTemplate found{.state = dir + kStateFile, .memory = dir + kMemoryFile};
  SANDBOX_RETURN_IF_ERROR(MakeDirs(boot.template_dir, 0700));
  SANDBOX_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(dir + ".lock"));
  if (PathExists(found.state) && PathExists(found.memory)) return found;
  // Made aside and renamed: a maker that dies leaves no half template.
  const std::string work = dir + ".new";
  (void)RemoveTree(work);
  Status made = BootAndSnapshot(boot, size, devices, work);
  if (made.ok() && ::rename(work.c_str(), dir.c_str()) != 0) made = ErrnoStatus("rename", work);
  if (!made.ok()) {
    (void)RemoveTree(work);
    return Status(made.code(), "making the VM template " + dir + ": " + made.message());
  }
  return found;
}

}  // namespace sandbox::shim
