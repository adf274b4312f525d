#include "vmm/machine.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <latch>
#include <fmt/format.h>

#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/mptable.h"
#include "vmm/arch/x86_64/vcpu_setup.h"
#include "vmm/devices/legacy/i8042.h"
#include "vmm/devices/legacy/serial.h"
#include "vmm/kvm/kvm_abi.h"
#include "vmm/loader/kernel_loader.h"
#include "vmm/memory/boot_prefault.h"
#include "vmm/sandboxing/jail.h"
#include "vmm/snapshot/snapshot_file.h"
#include "vmm/snapshot/vm_state.h"
#include "vmm/vcpu_report.h"
#include "vmm/virtio/devices/balloon.h"
#include "vmm/virtio/devices/blk.h"
#include "vmm/virtio/devices/fs.h"
#include "vmm/virtio/devices/net.h"
#include "vmm/virtio/devices/rng.h"
#include "vmm/virtio/devices/vsock.h"
#include "vmm/virtio/mmio_transport.h"

namespace sandbox::vmm {
namespace {

// Sent to a vCPU thread to knock it out of KVM_RUN; the handler does nothing.
constexpr int kKickSignal = SIGUSR1;
void IgnoreKick(int) {}

// Sections of a snapshot's state file (vmm/snapshot) that the machine writes.
constexpr char kSnapshotVcpus[] = "machine/vcpus";
constexpr char kSnapshotMemoryBytes[] = "machine/memory_bytes";
constexpr char kSnapshotVirtioDevices[] = "machine/virtio_devices";
// The guest kernel's text (LoadedKernel::text): where present, a restore
// with vhost-user devices maps it copy-on-write instead of copying it.
constexpr char kSnapshotKernelText[] = "memory/kernel_text";
// The shared ranges (VmControl::Snapshot): where present, mapped
// copy-on-write by a restore with vhost-user devices, as the kernel's text.
constexpr char kSnapshotSharedRanges[] = "memory/shared_ranges";
struct SharedRangesSection {
  uint64_t count;
  GuestRange ranges[kMaxSharedRanges];
};

// The snapshot's kernel text, if it has one.
Result<std::optional<GuestRange>> SnapshotKernelText(const SnapshotReader& snapshot) {
  if (!snapshot.Has(kSnapshotKernelText)) return std::optional<GuestRange>();
  GuestRange text;
  SANDBOX_RETURN_IF_ERROR(snapshot.GetStruct(kSnapshotKernelText, text));
  return std::optional<GuestRange>(text);
}

// The snapshot's shared ranges, unchecked (CheckSnapshotFits checks them).
Result<std::vector<GuestRange>> SnapshotSharedRanges(const SnapshotReader& snapshot) {
  if (!snapshot.Has(kSnapshotSharedRanges)) return std::vector<GuestRange>();
  SharedRangesSection section{};
  SANDBOX_RETURN_IF_ERROR(snapshot.GetStruct(kSnapshotSharedRanges, section));
  if (section.count > kMaxSharedRanges) {
    return InvalidArgument(fmt::format("{} shared ranges, at most {}", section.count, kMaxSharedRanges));
  }
  return std::vector<GuestRange>(section.ranges, section.ranges + section.count);
}

}  // namespace

Result<std::unique_ptr<Machine>> Machine::Build(const VmmConfig& config) {
  SANDBOX_RETURN_IF_ERROR(CheckVmmConfigOnHost(config));
  // A snapshot is checked before anything is created.
  std::optional<SnapshotReader> snapshot;
  if (config.restore) {
    SANDBOX_ASSIGN_OR_RETURN(snapshot, SnapshotReader::Open(config.restore->state));
    SANDBOX_RETURN_IF_ERROR(CheckSnapshotFits(*snapshot, config));
  }
  std::unique_ptr<Machine> machine(new Machine());
  machine->seccomp_ = config.seccomp;
  SANDBOX_ASSIGN_OR_RETURN(machine->kvm_, Kvm::Open());
  SANDBOX_ASSIGN_OR_RETURN(machine->vm_, Vm::Create(*machine->kvm_));
  SANDBOX_ASSIGN_OR_RETURN(machine->loop_, EventLoop::Create());
  spdlog::debug("build: KVM VM created");
  SANDBOX_RETURN_IF_ERROR(machine->SetUpMemory(config, snapshot ? &*snapshot : nullptr));
  SANDBOX_RETURN_IF_ERROR(machine->vm_->SetUpX86Platform(x86::kTssAddress, x86::kIdentityMapAddress));
  spdlog::debug("build: {} MiB of guest memory, irqchip and PIT", config.memory_mib);
  SANDBOX_RETURN_IF_ERROR(machine->SetUpDevices(config));
  spdlog::debug("build: {} virtio devices", machine->transports_.size());
  if (!snapshot) {
    SANDBOX_RETURN_IF_ERROR(machine->LoadGuest(config));
    spdlog::debug("build: kernel loaded, entry {:#x}", machine->entry_point_);
  }
  SANDBOX_RETURN_IF_ERROR(machine->SetUpVcpus(config.vcpus, !snapshot));
  spdlog::debug("build: {} vCPUs", config.vcpus);
  if (snapshot) {
    SANDBOX_RETURN_IF_ERROR(machine->RestoreState(*snapshot));
    spdlog::debug("build: restored from {}", config.restore->state);
    machine->PreFault(machine->memory_->restored_data(), "restore");
  } else {
    machine->PreFault(machine->boot_prefault_, "boot");
  }
  if (config.api_socket) {
    SANDBOX_ASSIGN_OR_RETURN(machine->api_server_, ApiServer::Create(*config.api_socket, *machine->loop_, *machine));
  }
  return machine;
}

void Machine::RequestGuestShutdown() { i8042_->SendCtrlAltDel(); }

Machine::~Machine() {
  RequestStop(VmExit::kHostStop);
  JoinVcpuThreads();
  if (loop_) loop_->Stop();
  if (loop_thread_.joinable()) loop_thread_.join();
  api_server_.reset();
  transports_.clear();  // before the VM whose ioeventfds they hold
}

Status Machine::SetUpMemory(const VmmConfig& config, const SnapshotReader* snapshot) {
  if (snapshot) {
    SANDBOX_ASSIGN_OR_RETURN(kernel_text_, SnapshotKernelText(*snapshot));
    SANDBOX_ASSIGN_OR_RETURN(shared_ranges_, SnapshotSharedRanges(*snapshot));
  }
  if (config.restore && !config.fs.empty()) {
    // vhost-user back-ends map guest RAM shared: a private copy, not the
    // file's copy-on-write pages, but for the kernel's text and the shared
    // ranges, which no I/O buffer lies in.
    std::vector<GuestRange> copy_on_write = shared_ranges_;
    if (kernel_text_) copy_on_write.push_back(*kernel_text_);
    SANDBOX_ASSIGN_OR_RETURN(memory_, GuestMemory::CopySnapshotFile(config.restore->memory, config.memory_mib << 20,
                                                                    copy_on_write));
    uint64_t shared = 0;
    for (const GuestRange& range : copy_on_write) shared += range.size;
    spdlog::info("restore: {} KiB of guest RAM shared copy-on-write with the snapshot (the kernel's text and {} "
                 "shared ranges)",
                 shared >> 10, shared_ranges_.size());
  } else if (config.restore) {
    SANDBOX_ASSIGN_OR_RETURN(memory_, GuestMemory::MapSnapshotFile(config.restore->memory, config.memory_mib << 20));
  } else {
    SANDBOX_ASSIGN_OR_RETURN(memory_, GuestMemory::Create(config.memory_mib << 20));
  }
  uint32_t slot = 0;
  for (const MemoryRegion& region : memory_->regions()) {
    SANDBOX_RETURN_IF_ERROR(vm_->SetMemoryRegion(slot++, region.guest_address, region.size, region.host));
  }
  return Status::Ok();
}

Status Machine::SetUpDevices(const VmmConfig& config) {
  // Console: a terminal gets each byte as it comes, a log file blocks of
  // lines up to a size limit (the guest decides how much it prints).
  UniqueFd serial_output;
  ConsoleSink::Options serial_options{.block_bytes = 1};
  if (config.serial == "stdout") {
    serial_output = UniqueFd(::dup(STDOUT_FILENO));
    serial_input_ = true;
  } else if (config.serial != "none") {
    serial_output = UniqueFd(::open(config.serial.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!serial_output.valid()) return ErrnoStatus("open", fmt::format("serial: {}", config.serial));
    serial_options = {.block_bytes = ConsoleSink::kFileBlockBytes, .limit_bytes = ConsoleSink::kFileLimitBytes};
  }
  SANDBOX_ASSIGN_OR_RETURN(EventFd serial_interrupt, EventFd::Create());
  SANDBOX_RETURN_IF_ERROR(vm_->RegisterIrqfd(serial_interrupt.fd(), x86::kSerialIrq));
  auto serial_irq = std::make_shared<EventFd>(std::move(serial_interrupt));
  serial_ = std::make_shared<Serial>(std::move(serial_output), [serial_irq] { serial_irq->Signal(); }, serial_options);
  SANDBOX_RETURN_IF_ERROR(io_bus_.Insert(serial_, Serial::kCom1Base, Serial::kRegisterCount));
  SANDBOX_ASSIGN_OR_RETURN(EventFd keyboard_interrupt, EventFd::Create());
  SANDBOX_RETURN_IF_ERROR(vm_->RegisterIrqfd(keyboard_interrupt.fd(), I8042::kKeyboardIrq));
  auto keyboard_irq = std::make_shared<EventFd>(std::move(keyboard_interrupt));
  i8042_ = std::make_shared<I8042>(
      [this] {
        spdlog::info("the guest reset the machine (i8042)");
        RequestStop(VmExit::kGuestReset);
      },
      [keyboard_irq] { keyboard_irq->Signal(); });
  SANDBOX_RETURN_IF_ERROR(io_bus_.Insert(i8042_, I8042::kBase, I8042::kSize));

  // virtio-mmio devices, in a fixed order so their addresses are stable.
  std::vector<std::shared_ptr<VirtioDevice>> devices;
  for (const BlockConfig& block : config.block) {
    auto device = BlockDevice::Open(block.id, block.path, block.read_only);
    if (!device.ok()) return device.status().Wrap(fmt::format("block \"{}\"", block.id));
    devices.push_back(*device);
  }
  if (config.vsock) {
    // Jailed, the VMM sees uds_path's directory (jail.root) as "/".
    const std::string listeners_base = config.jail ? PathInJail(config.vsock->uds_path) : config.vsock->uds_path;
    SANDBOX_ASSIGN_OR_RETURN(auto vsock, VsockDevice::Create(config.vsock->guest_cid, config.vsock->uds_path, *loop_,
                                                             listeners_base));
    devices.push_back(std::move(vsock));
  }
  for (size_t i = 0; i < config.fs.size(); ++i) {
    auto device = FsDevice::Create(config.fs[i].tag, config.fs[i].socket, *loop_,
                                   [this] { RequestStop(VmExit::kVmmError); });
    if (!device.ok()) return device.status().Wrap(fmt::format("fs[{}]", i));
    devices.push_back(*device);
  }
  if (config.rng) devices.push_back(std::make_shared<RngDevice>());
  if (config.balloon) {
    balloon_ = std::make_shared<BalloonDevice>();
    devices.push_back(balloon_);
  }
  // After the others, so adding a NIC moves no existing device's address.
  for (size_t i = 0; i < config.net.size(); ++i) {
    const NetConfig& net = config.net[i];
    auto device = net.unplugged ? NetDevice::CreateUnplugged(net.mac, net.mtu, *loop_)
                                : NetDevice::Create(UniqueFd(net.tap_fd), net.mac, net.mtu, *loop_);
    if (!device.ok()) return device.status().Wrap(fmt::format("net[{}]", i));
    devices.push_back(*device);
  }
  if (devices.size() > x86::kIoapicPins - x86::kFirstVirtioIrq) return InvalidArgument("too many devices");
  for (size_t i = 0; i < devices.size(); ++i) {
    const uint64_t base = x86::kVirtioMmioBase + i * x86::kVirtioMmioWindow;
    const uint32_t irq = x86::kFirstVirtioIrq + static_cast<uint32_t>(i);
    SANDBOX_ASSIGN_OR_RETURN(auto transport, MmioTransport::Create(devices[i], *memory_, *loop_, base, irq));
    SANDBOX_RETURN_IF_ERROR(transport->AttachToVm(*vm_));
    SANDBOX_RETURN_IF_ERROR(mmio_bus_.Insert(transport, base, x86::kVirtioMmioWindow));
    transports_.push_back(std::move(transport));
  }
  return Status::Ok();
}

Status Machine::LoadGuest(const VmmConfig& config) {
  SANDBOX_ASSIGN_OR_RETURN(LoadedKernel kernel, LoadKernelFile(config.kernel, *memory_));
  entry_point_ = kernel.entry_point;
  kernel_text_ = kernel.text;
  x86::BootParamsInput boot;
  for (const MemoryRegion& region : memory_->regions()) boot.ram.emplace_back(region.guest_address, region.size);
  boot.kernel_header = kernel.header;
  LoadedBootImage image{.kernel_end = kernel.end, .per_cpu_embedded = EmbedsPerCpuChunk(config.cmdline)};
  if (kernel.text) {
    const uint64_t text_end = kernel.text->address + kernel.text->size;
    image.kernel_data = GuestRange{text_end, kernel.end - text_end};
  }
  if (config.initrd) {
    SANDBOX_ASSIGN_OR_RETURN(LoadedInitrd initrd, LoadInitrdFile(*config.initrd, *memory_, kernel));
    boot.initrd_address = initrd.address;
    boot.initrd_size = initrd.size;
    image.initrd = GuestRange{initrd.address, initrd.size};
  }
  boot_prefault_ = BootPreFaultRanges(boot.ram, config.vcpus, image);
  command_line_ = config.cmdline;
  for (const auto& transport : transports_) {
    if (!command_line_.empty()) command_line_ += ' ';
    command_line_ += transport->KernelCommandLineDevice();
  }
  if (command_line_.size() >= x86::kCommandLineMax) {
    return InvalidArgument(fmt::format("cmdline: {} bytes with the device declarations; the kernel takes at most {}",
                                       command_line_.size(), x86::kCommandLineMax - 1));
  }
  std::vector<uint8_t> text(command_line_.begin(), command_line_.end());
  text.push_back(0);
  SANDBOX_RETURN_IF_ERROR(memory_->Write(x86::kCommandLineAddress, text));
  boot.command_line_address = x86::kCommandLineAddress;
  boot.command_line_size = command_line_.size();
  SANDBOX_ASSIGN_OR_RETURN(boot_params params, x86::BuildBootParams(boot));
  SANDBOX_RETURN_IF_ERROR(memory_->WriteObject(x86::kZeroPageAddress, params));
  SANDBOX_ASSIGN_OR_RETURN(std::vector<uint8_t> mptable, x86::BuildMpTable(x86::kEbdaStart, config.vcpus));
  SANDBOX_RETURN_IF_ERROR(memory_->Write(x86::kEbdaStart, mptable));
  return x86::WriteBootTables(*memory_);
}

Status Machine::SetUpVcpus(uint32_t count, bool boot) {
  const int max_vcpus = ioctl(kvm_->fd(), KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
  if (max_vcpus > 0 && count > static_cast<uint32_t>(max_vcpus)) {
    return InvalidArgument(fmt::format("vcpus: {} is more than this host's KVM allows ({})", count, max_vcpus));
  }
  SANDBOX_ASSIGN_OR_RETURN(std::vector<kvm_cpuid_entry2> supported, kvm_->SupportedCpuid());
  const x86::CpuidHost host{.tsc_deadline_timer = ioctl(kvm_->fd(), KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0};
  for (uint32_t index = 0; index < count; ++index) {
    SANDBOX_ASSIGN_OR_RETURN(Vcpu vcpu, Vcpu::Create(*kvm_, *vm_, index));
    SANDBOX_RETURN_IF_ERROR(x86::ConfigureVcpu(vcpu, x86::FilterCpuid(supported, index, count, host)));
    if (boot && index == 0) SANDBOX_RETURN_IF_ERROR(x86::SetBootRegisters(vcpu, entry_point_));
    vcpus_.push_back(std::move(vcpu));
  }
  return Status::Ok();
}

Status Machine::WatchStopSignals() {
  // The caller blocked these in every thread; the main thread polls for them
  // (not the device loop, which a stuck device could hold up).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  stop_signals_ = UniqueFd(signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!stop_signals_.valid()) return ErrnoStatus("signalfd", "SIGTERM/SIGINT");
  return Status::Ok();
}

void Machine::PollStopSignals() {
  signalfd_siginfo info{};
  if (::read(stop_signals_.get(), &info, sizeof(info)) == sizeof(info)) {
    spdlog::info("signal {}: stopping the VM", info.ssi_signo);
    RequestStop(VmExit::kHostStop);
  }
}

void Machine::WatchConsoleInput() {
  // Console input from stdin, at most one FIFO ahead of the guest: the fd is
  // re-armed only when the UART has room again.
  auto arm = [this] { (void)loop_->Modify(STDIN_FILENO, EPOLLIN | EPOLLONESHOT); };
  const Status added = loop_->Add(STDIN_FILENO, EPOLLIN | EPOLLONESHOT, [this, arm](uint32_t) {
    uint8_t buffer[Serial::kInputCapacity];
    const size_t space = serial_->InputSpace();
    if (space == 0) return;  // SetInputDrainedCallback re-arms
    const ssize_t got = ::read(STDIN_FILENO, buffer, space);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      loop_->Remove(STDIN_FILENO);  // EOF: no more input
      return;
    }
    if (got > 0) serial_->EnqueueInput({buffer, static_cast<size_t>(got)});
    if (serial_->InputSpace() > 0) arm();
  });
  if (!added.ok()) {
    spdlog::debug("no console input: {}", added.message());  // e.g. stdin is /dev/null
    return;
  }
  serial_->SetInputDrainedCallback(arm);
}

void Machine::StartThreads(std::latch& sandboxed) {
  loop_thread_ = std::thread([this, &sandboxed] {
    pthread_setname_np(pthread_self(), "vmm-loop");
    EnterSeccomp(ThreadKind::kEventLoop);
    sandboxed.count_down();
    loop_->Run();
  });
  {
    std::lock_guard threads_lock(threads_mutex_);
    for (size_t index = 0; index < vcpus_.size(); ++index) {
      vcpu_threads_.emplace_back([this, index, &sandboxed] {
        pthread_setname_np(pthread_self(), ("vcpu" + std::to_string(index)).c_str());
        EnterSeccomp(ThreadKind::kVcpu);
        sandboxed.arrive_and_wait();
        RunVcpu(index);
      });
    }
  }
}

VmExit Machine::Run() {
  struct sigaction action {};
  action.sa_handler = IgnoreKick;  // no SA_RESTART: KVM_RUN must return EINTR
  sigaction(kKickSignal, &action, nullptr);
  if (const Status watched = WatchStopSignals(); !watched.ok()) {
    spdlog::error("{}", watched.message());
    return VmExit::kVmmError;
  }
  if (serial_input_) WatchConsoleInput();
  if (seccomp_) {
    if (const Status reporter = InstallSeccompViolationReporter(); !reporter.ok()) {
      spdlog::error("{}", reporter.message());
      return VmExit::kVmmError;
    }
  }
  // Every thread loads its own filter (a thread inherits its creator's, so
  // this one loads last); the vCPUs enter the guest only once all are in.
  std::latch sandboxed(static_cast<std::ptrdiff_t>(vcpus_.size()) + 2);
  StartThreads(sandboxed);
  EnterSeccomp(ThreadKind::kMain);
  sandboxed.count_down();
  std::unique_lock lock(mutex_);
  while (!exit_) {
    if (changed_.wait_for(lock, std::chrono::milliseconds(100), [this] { return exit_.has_value(); })) break;
    lock.unlock();
    PollStopSignals();
    // A partial line (a prompt, a guest that stopped mid-line) shows up
    // within 100 ms, for whoever reads the console file while the VM runs.
    serial_->FlushOutput();
    lock.lock();
  }
  const VmExit reason = *exit_;
  lock.unlock();
  // A device stuck in a host system call (a hung disk) holds its lock, and a
  // vCPU waiting for that lock cannot be kicked: the VM has ended, so leave
  // without them after a grace period rather than hang.
  std::thread([reason] {
    std::this_thread::sleep_for(kStopGracePeriod);
    spdlog::error("threads still busy {} s after the VM ended (a device stuck in a host call?); exiting",
                  kStopGracePeriod.count());
    std::_Exit(static_cast<int>(reason == VmExit::kGuestReset ? VmExit::kVmmError : reason));
  }).detach();
  JoinVcpuThreads();
  loop_->Stop();
  loop_thread_.join();
  return reason;
}

void Machine::RequestStop(VmExit reason) {
  {
    std::lock_guard lock(mutex_);
    if (!exit_) exit_ = reason;
    stopping_ = true;
  }
  changed_.notify_all();
  KickVcpus();
}

// The threads leave vcpu_threads_ under its lock before they are joined: a
// later kick (RequestStop from the event loop's API call) must not signal a
// joined thread, whose pthread handle is freed (a SIGSEGV in pthread_kill,
// seen in vmm_e2e's forced stop).
void Machine::JoinVcpuThreads() {
  std::vector<std::thread> threads;
  {
    std::lock_guard threads_lock(threads_mutex_);
    KickVcpusLocked();  // a stop's own kick may not have come yet
    threads.swap(vcpu_threads_);
  }
  for (std::thread& thread : threads) thread.join();
}

void Machine::KickVcpus() {
  std::lock_guard threads_lock(threads_mutex_);
  KickVcpusLocked();
}

void Machine::KickVcpusLocked() {
  for (size_t index = 0; index < vcpu_threads_.size() && index < vcpus_.size(); ++index) {
    std::atomic_ref<uint8_t>(vcpus_[index].run_area()->immediate_exit).store(1);
    pthread_kill(vcpu_threads_[index].native_handle(), kKickSignal);
  }
}

Status Machine::Pause() {
  std::unique_lock lock(mutex_);
  if (stopping_) return FailedPrecondition("the VM is stopping");
  if (paused_) return Status::Ok();
  paused_ = true;
  lock.unlock();
  KickVcpus();
  lock.lock();
  changed_.wait(lock, [this] { return parked_vcpus_ == vcpus_.size() || stopping_; });
  return Status::Ok();
}

Status Machine::Resume() {
  {
    std::lock_guard lock(mutex_);
    if (!paused_) return Status::Ok();
    paused_ = false;
  }
  changed_.notify_all();
  return Status::Ok();
}

Result<std::vector<std::string>> Machine::DescribeVcpus() {
  const bool was_paused = paused_;
  SANDBOX_RETURN_IF_ERROR(Pause());
  std::vector<std::string> lines;
  {
    std::lock_guard lock(mutex_);
    if (parked_vcpus_ != vcpus_.size()) return FailedPrecondition("the VM is stopping");
    for (const Vcpu& vcpu : vcpus_) lines.push_back(DescribeStoppedVcpu(vcpu, *memory_));
  }
  if (!was_paused) SANDBOX_RETURN_IF_ERROR(Resume());
  return lines;
}

// ---- snapshots ---------------------------------------------------------------

namespace {


Status WriteAll(int fd, std::string_view bytes, const char* what) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::write(fd, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return ErrnoStatus("write", what);
    bytes.remove_prefix(static_cast<size_t>(wrote));
  }
  return Status::Ok();
}

// The virtio devices SetUpDevices makes for `config`.
size_t VirtioDeviceCount(const VmmConfig& config) {
  return config.block.size() + (config.vsock ? 1 : 0) + config.fs.size() + (config.rng ? 1 : 0) +
         (config.balloon ? 1 : 0) + config.net.size();
}

// The kernel text a snapshot records (optional) must be whole pages inside
// one region of its guest's RAM; its shared ranges (optional) pass
// CheckSharedRanges.
Status CheckSnapshotMemory(const SnapshotReader& snapshot, uint64_t memory_bytes) {
  SANDBOX_ASSIGN_OR_RETURN(const std::optional<GuestRange> text, SnapshotKernelText(snapshot));
  if (text && !GuestMemory::CheckWholePages(memory_bytes, *text).ok()) {
    return InvalidArgument(
        fmt::format("its kernel text {:#x}+{:#x} is not whole pages of its RAM", text->address, text->size));
  }
  SANDBOX_ASSIGN_OR_RETURN(const std::vector<GuestRange> shared, SnapshotSharedRanges(snapshot));
  return CheckSharedRanges(shared, memory_bytes, text);
}

}  // namespace

Status CheckSnapshotFits(const SnapshotReader& snapshot, const VmmConfig& config) {
  SANDBOX_ASSIGN_OR_RETURN(uint64_t vcpus, snapshot.GetU64(kSnapshotVcpus));
  SANDBOX_ASSIGN_OR_RETURN(uint64_t memory_bytes, snapshot.GetU64(kSnapshotMemoryBytes));
  if (vcpus != config.vcpus) {
    return InvalidArgument(fmt::format("vcpus: {}, but the snapshot {} has {}", config.vcpus, config.restore->state, vcpus));
  }
  if (memory_bytes != config.memory_mib << 20) {
    return InvalidArgument(fmt::format("memory_mib: {}, but the snapshot {} has {} MiB", config.memory_mib,
                                       config.restore->state, memory_bytes >> 20));
  }
  // Each device's kind is checked as it is restored; a NIC more or less is
  // the likely mistake (they come last), so the count is checked first, by name.
  SANDBOX_ASSIGN_OR_RETURN(uint64_t devices, snapshot.GetU64(kSnapshotVirtioDevices));
  if (devices != VirtioDeviceCount(config)) {
    return InvalidArgument(fmt::format("restore: this config has {} virtio devices ({} NICs), but the snapshot {} has {}",
                                       VirtioDeviceCount(config), config.net.size(), config.restore->state, devices));
  }
  const Status memory = CheckSnapshotMemory(snapshot, memory_bytes);
  if (!memory.ok()) return Status(memory.code(), "the snapshot " + config.restore->state + ": " + memory.message());
  return Status::Ok();
}

Status CheckSharedRanges(const std::vector<GuestRange>& ranges, uint64_t memory_bytes,
                         const std::optional<GuestRange>& kernel_text) {
  if (ranges.size() > kMaxSharedRanges) {
    return InvalidArgument(fmt::format("shared_ranges: {} ranges, at most {}", ranges.size(), kMaxSharedRanges));
  }
  std::vector<GuestRange> all = ranges;
  for (const GuestRange& range : ranges) {
    if (!GuestMemory::CheckWholePages(memory_bytes, range).ok()) {
      return InvalidArgument(
          fmt::format("shared_ranges: {:#x}+{:#x} is not whole pages of guest RAM", range.address, range.size));
    }
  }
  if (kernel_text) all.push_back(*kernel_text);
  std::sort(all.begin(), all.end(), [](const GuestRange& a, const GuestRange& b) { return a.address < b.address; });
  for (size_t i = 1; i < all.size(); ++i) {
    if (all[i].address < all[i - 1].address + all[i - 1].size) {
      return InvalidArgument(fmt::format("shared_ranges: {:#x}+{:#x} overlaps {:#x}+{:#x} (another range or the "
                                         "kernel's text)",
                                         all[i].address, all[i].size, all[i - 1].address, all[i - 1].size));
    }
  }
  return Status::Ok();
}

Result<BalloonDevice::Stats> Machine::Balloon() const {
  if (!balloon_) return FailedPrecondition("balloon: this VM has no balloon device");
  return balloon_->stats();
}

Status Machine::Snapshot(UniqueFd state, UniqueFd memory, std::vector<GuestRange> shared_ranges) {
  SANDBOX_RETURN_IF_ERROR(CheckSharedRanges(shared_ranges, memory_->size(), kernel_text_));
  const bool was_paused = paused_;
  SANDBOX_RETURN_IF_ERROR(Pause());
  Status saved = WriteSnapshot(state.get(), memory.get(), shared_ranges);
  // Refused (a busy device, say): the VM goes on as it was.
  if (!saved.ok() && !was_paused) (void)Resume();
  return saved;
}

Status Machine::WriteSnapshot(int state, int memory, const std::vector<GuestRange>& shared_ranges) {
  std::lock_guard lock(mutex_);
  if (parked_vcpus_ != vcpus_.size()) return FailedPrecondition("the VM is stopping");
  SnapshotWriter writer;
  writer.AddU64(kSnapshotVcpus, vcpus_.size());
  writer.AddU64(kSnapshotMemoryBytes, memory_->size());
  writer.AddU64(kSnapshotVirtioDevices, transports_.size());
  if (kernel_text_) writer.AddStruct(kSnapshotKernelText, *kernel_text_);
  if (!shared_ranges.empty()) {
    SharedRangesSection section{.count = shared_ranges.size(), .ranges = {}};
    std::copy(shared_ranges.begin(), shared_ranges.end(), section.ranges);
    writer.AddStruct(kSnapshotSharedRanges, section);
  }
  for (size_t i = 0; i < transports_.size(); ++i) {
    SANDBOX_RETURN_IF_ERROR(transports_[i]->SaveState(writer, fmt::format("virtio{}", i)));
  }
  if (readable_msrs_.empty()) {
    SANDBOX_ASSIGN_OR_RETURN(readable_msrs_, ReadableMsrs(*kvm_, vcpus_[0]));
  }
  for (const Vcpu& vcpu : vcpus_) SANDBOX_RETURN_IF_ERROR(SaveVcpuState(vcpu, readable_msrs_, writer));
  SANDBOX_RETURN_IF_ERROR(SaveVmState(*vm_, writer));
  writer.AddStruct("device/serial", serial_->SaveState());
  writer.AddStruct("device/i8042", i8042_->SaveState());
  SANDBOX_ASSIGN_OR_RETURN(std::string bytes, writer.Serialize());
  SANDBOX_RETURN_IF_ERROR(memory_->WriteAllTo(memory));
  SANDBOX_RETURN_IF_ERROR(WriteAll(state, bytes, "the snapshot's state file"));
  if (::fsync(memory) != 0) return ErrnoStatus("fsync", "the snapshot's memory file");
  if (::fsync(state) != 0) return ErrnoStatus("fsync", "the snapshot's state file");
  spdlog::info("snapshot: {} vCPUs, {} MiB of memory, {} virtio devices, {} shared ranges, {} bytes of state; the VM "
               "stays paused",
               vcpus_.size(), memory_->size() >> 20, transports_.size(), shared_ranges.size(), bytes.size());
  return Status::Ok();
}

void Machine::PreFault(const std::vector<GuestRange>& ranges, const char* what) {
  if (!vm_->Has(kvm_abi::kCapPreFaultMemory)) {
    spdlog::info("{}: this KVM cannot pre-fault guest RAM (KVM_PRE_FAULT_MEMORY: Linux 6.10 and later, "
                 "with nested paging)",
                 what);
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  for (const GuestRange& range : ranges) {
    const Status mapped = vcpus_.front().PreFault(range.address, range.size);
    if (!mapped.ok()) {
      // Only a speed-up: the guest faults the rest in as it touches it.
      spdlog::warn("{}: pre-faulting guest RAM stopped: {}", what, mapped.message());
      return;
    }
    bytes += range.size;
  }
  spdlog::info("{}: {} KiB of guest RAM pre-faulted in {} ms", what, bytes >> 10,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
}

Status Machine::RestoreState(const SnapshotReader& snapshot) {
  SANDBOX_ASSIGN_OR_RETURN(uint64_t devices, snapshot.GetU64(kSnapshotVirtioDevices));
  if (devices != transports_.size()) {
    return InvalidArgument(fmt::format("restore: the snapshot has {} virtio devices, this config {}", devices,
                                       transports_.size()));
  }
  for (const Vcpu& vcpu : vcpus_) SANDBOX_RETURN_IF_ERROR(RestoreVcpuState(vcpu, snapshot));
  SANDBOX_RETURN_IF_ERROR(RestoreVmState(*vm_, snapshot));
  // After the irqchip's state: the interrupts the transports raise as they
  // restore (one the guest had not acknowledged, frames already waiting on a
  // NIC's new TAP) would be lost in a fresh IOAPIC's masked pins, whose
  // pending bits KVM_SET_IRQCHIP then overwrites.
  for (size_t i = 0; i < transports_.size(); ++i) {
    SANDBOX_RETURN_IF_ERROR(transports_[i]->RestoreState(snapshot, fmt::format("virtio{}", i)));
  }
  Serial::State serial{};
  SANDBOX_RETURN_IF_ERROR(snapshot.GetStruct("device/serial", serial));
  serial_->RestoreState(serial);
  I8042::State i8042{};
  SANDBOX_RETURN_IF_ERROR(snapshot.GetStruct("device/i8042", i8042));
  i8042_->RestoreState(i8042);
  return Status::Ok();
}

void Machine::EnterSeccomp(ThreadKind kind) {
  if (!seccomp_) return;
  if (const Status installed = InstallSeccompFilter(kind); !installed.ok()) {
    spdlog::error("{}", installed.message());
    RequestStop(VmExit::kVmmError);
  }
}

void Machine::RunVcpu(size_t index) {
  Vcpu& vcpu = vcpus_[index];
  // The kick signal is only delivered while this thread is in KVM_RUN or about to be.
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, kKickSignal);
  pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  while (!stopping_) {
    if (paused_) {
      // A snapshot (or the vcpus report) reads the registers: the last
      // exit's I/O must be complete first. KVM completes it at the next
      // KVM_RUN, which immediate_exit then ends at once.
      std::atomic_ref<uint8_t>(vcpu.run_area()->immediate_exit).store(1);
      (void)::ioctl(vcpu.fd(), KVM_RUN, 0);
      std::atomic_ref<uint8_t>(vcpu.run_area()->immediate_exit).store(0);
      std::unique_lock lock(mutex_);
      ++parked_vcpus_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return !paused_ || stopping_; });
      --parked_vcpus_;
      continue;
    }
    if (::ioctl(vcpu.fd(), KVM_RUN, 0) != 0) {
      if (errno == EINTR || errno == EAGAIN) {
        std::atomic_ref<uint8_t>(vcpu.run_area()->immediate_exit).store(0);
        continue;
      }
      spdlog::error("vCPU {}: KVM_RUN failed: {}", index, std::strerror(errno));
      RequestStop(VmExit::kKvmError);
      return;
    }
    if (!HandleExit(vcpu)) return;
  }
}

bool Machine::HandleExit(Vcpu& vcpu) {
  kvm_run* run = vcpu.run_area();
  switch (run->exit_reason) {
    case KVM_EXIT_IO: {
      auto* data = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;
      for (uint32_t i = 0; i < run->io.count; ++i) {
        std::span<uint8_t> access(data + i * run->io.size, run->io.size);
        if (run->io.direction == KVM_EXIT_IO_OUT) {
          io_bus_.Write(run->io.port, access);
        } else if (!io_bus_.Read(run->io.port, access)) {
          std::fill(access.begin(), access.end(), 0);  // nothing there
        }
      }
      return true;
    }
    case KVM_EXIT_MMIO: {
      std::span<uint8_t> access(run->mmio.data, std::min<uint32_t>(run->mmio.len, sizeof(run->mmio.data)));
      if (run->mmio.is_write) {
        if (!mmio_bus_.Write(run->mmio.phys_addr, access)) {
          spdlog::debug("vCPU {}: MMIO write to {:#x} hits no device", vcpu.index(), run->mmio.phys_addr);
        }
      } else if (!mmio_bus_.Read(run->mmio.phys_addr, access)) {
        std::fill(access.begin(), access.end(), 0xff);
      }
      return true;
    }
    case KVM_EXIT_HLT:
      return true;  // the in-kernel LAPIC handles HLT; nothing to do
    case KVM_EXIT_SHUTDOWN:
      spdlog::error("vCPU {}: triple fault; {}", vcpu.index(), DescribeCpuState(vcpu));
      RequestStop(VmExit::kTripleFault);
      return false;
    case KVM_EXIT_SYSTEM_EVENT:
      spdlog::info("vCPU {}: system event {}", vcpu.index(), run->system_event.type);
      RequestStop(VmExit::kGuestReset);
      return false;
    case KVM_EXIT_FAIL_ENTRY:
      spdlog::error("vCPU {}: KVM entry failed, hardware reason {:#x}", vcpu.index(),
                    static_cast<uint64_t>(run->fail_entry.hardware_entry_failure_reason));
      RequestStop(VmExit::kKvmError);
      return false;
    case KVM_EXIT_INTERNAL_ERROR:
      spdlog::error("vCPU {}: KVM internal error, suberror {}", vcpu.index(), run->internal.suberror);
      RequestStop(VmExit::kKvmError);
      return false;
    default:
      spdlog::error("vCPU {}: unhandled KVM exit {}", vcpu.index(), run->exit_reason);
      RequestStop(VmExit::kKvmError);
      return false;
  }
}

}  // namespace sandbox::vmm
