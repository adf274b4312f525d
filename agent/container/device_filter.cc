#include "agent/container/device_filter.h"

#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>

namespace sandbox::agent {
namespace {

// Registers of the program: r1 = ctx, r2 = type, r3 = access, r4 = major, r5 = minor.
constexpr uint8_t kCtx = 1, kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kScratch = 6;
constexpr size_t kVerifierLogSize = 64 * 1024;
constexpr size_t kReportedLogTail = 2048;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn{};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

bpf_insn LoadWord(uint8_t dst, int16_t offset) { return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, kCtx, offset, 0); }
bpf_insn MoveReg(uint8_t dst, uint8_t src) { return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn AndImm(uint8_t dst, int32_t imm) { return Insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm); }
bpf_insn ShiftRight(uint8_t dst, int32_t imm) { return Insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm); }
bpf_insn JumpIfNotEqual(uint8_t dst, int32_t imm, int16_t skip) { return Insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, skip, imm); }
bpf_insn Return(int32_t value) { return Insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, value); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

struct ParsedRule {
  bool allow = false;
  int type = 0;          // BPF_DEVCG_DEV_*; 0: any
  int64_t major = -1;    // -1: any
  int64_t minor = -1;
  uint32_t access = 0;   // BPF_DEVCG_ACC_* bits
};

Result<ParsedRule> Parse(const oci::DeviceRule& rule, size_t index) {
  const std::string field = "linux.resources.devices[" + std::to_string(index) + "]";
  ParsedRule parsed{.allow = rule.allow, .type = 0, .major = rule.major.value_or(-1), .minor = rule.minor.value_or(-1), .access = 0};
  const std::string type = rule.type.value_or("a");
  if (type == "c") {
    parsed.type = BPF_DEVCG_DEV_CHAR;
  } else if (type == "b") {
    parsed.type = BPF_DEVCG_DEV_BLOCK;
  } else if (type != "a") {
    return InvalidArgument(field + ".type: \"" + type + "\" is not a, b or c");
  }
  const std::string access = rule.access.value_or("rwm");
  for (char letter : access) {
    if (letter == 'r') parsed.access |= BPF_DEVCG_ACC_READ;
    else if (letter == 'w') parsed.access |= BPF_DEVCG_ACC_WRITE;
    else if (letter == 'm') parsed.access |= BPF_DEVCG_ACC_MKNOD;
    else return InvalidArgument(field + ".access: \"" + access + "\" may only hold r, w and m");
  }
  if (access.empty()) return InvalidArgument(field + ".access: empty");
  if (parsed.major < -1 || parsed.minor < -1 || parsed.major > 0xffffffffll || parsed.minor > 0xffffffffll) {
    return InvalidArgument(field + ": major/minor out of range");
  }
  return parsed;
}

oci::DeviceRule Allow(const char* type, int64_t major, std::optional<int64_t> minor, const char* access) {
  oci::DeviceRule rule;
  rule.allow = true;
  rule.type = type;
  rule.major = major;
  rule.minor = minor;
  rule.access = access;
  return rule;
}

bool Matches(const ParsedRule& rule, int type, int64_t major, int64_t minor, uint32_t access) {
  if (rule.type != 0 && rule.type != type) return false;
  if ((access & ~rule.access) != 0) return false;
  if (rule.major != -1 && rule.major != major) return false;
  if (rule.minor != -1 && rule.minor != minor) return false;
  return true;
}

// One BPF_PROG_LOAD; with `log`, the verifier writes its trace into it.
int LoadProgram(const std::vector<bpf_insn>& program, std::vector<char>* log) {
  static const char kLicense[] = "Apache-2.0";
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(program.data());
  load.insn_cnt = static_cast<uint32_t>(program.size());
  load.license = reinterpret_cast<uint64_t>(kLicense);
  if (log != nullptr) {
    load.log_buf = reinterpret_cast<uint64_t>(log->data());
    load.log_size = static_cast<uint32_t>(log->size());
    load.log_level = 1;
  }
  return static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load)));
}

// The end of the verifier's trace, where it says why it refused.
std::string VerifierVerdict(const std::vector<char>& log) {
  std::string trace(log.data(), ::strnlen(log.data(), log.size()));
  while (!trace.empty() && std::isspace(static_cast<unsigned char>(trace.back()))) trace.pop_back();
  if (trace.size() <= kReportedLogTail) return trace;
  return "..." + trace.substr(trace.size() - kReportedLogTail);
}

// Loads without a verifier log: a log that overflows its buffer fails the
// load with ENOSPC even when the program verifies (seen with containerd's
// default rules and a 4 KiB log). Only a failed load is retried with a large
// log, to say why; the first error is the one reported.
Result<UniqueFd> LoadDeviceProgram(const std::vector<bpf_insn>& program) {
  UniqueFd prog(LoadProgram(program, nullptr));
  if (prog.valid()) return prog;
  const int error = errno;
  std::vector<char> log(kVerifierLogSize, '\0');
  const UniqueFd retry(LoadProgram(program, &log));
  const bool log_complete = !retry.valid() && errno != ENOSPC;
  const std::string reason = log_complete ? VerifierVerdict(log) : std::string();
  return Status(StatusCode::kInternal, std::string("loading the device cgroup program: ") + std::strerror(error) +
                                           (reason.empty() ? "" : ": " + reason));
}

}  // namespace

std::vector<oci::DeviceRule> EffectiveDeviceRules(const oci::Spec& spec) {
  std::vector<oci::DeviceRule> rules;
  if (spec.linux && spec.linux->resources && spec.linux->resources->devices) rules = *spec.linux->resources->devices;
  for (const auto& [major, minor] : {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}}) {
    rules.push_back(Allow("c", major, minor, "rwm"));
  }
  rules.push_back(Allow("c", 136, std::nullopt, "rwm"));  // /dev/pts/*
  if (spec.linux && spec.linux->devices) {
    for (const oci::Device& device : *spec.linux->devices) {
      if (device.type == "p") continue;  // FIFOs are not device numbers
      const char* type = device.type == "b" ? "b" : "c";  // "c" and "u" (unbuffered char)
      rules.push_back(Allow(type, device.major.value_or(0), device.minor.value_or(0), "rwm"));
    }
  }
  return rules;
}

Result<std::vector<bpf_insn>> CompileDeviceFilter(const std::vector<oci::DeviceRule>& rules) {
  std::vector<bpf_insn> program = {
      LoadWord(kType, offsetof(bpf_cgroup_dev_ctx, access_type)),
      AndImm(kType, 0xffff),
      LoadWord(kAccess, offsetof(bpf_cgroup_dev_ctx, access_type)),
      ShiftRight(kAccess, 16),
      LoadWord(kMajor, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadWord(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (size_t index = rules.size(); index-- > 0;) {
    SANDBOX_ASSIGN_OR_RETURN(ParsedRule rule, Parse(rules[index], index));
    // Each check jumps past the rest of this block when it fails: build the
    // checks first, then fix their offsets to the block's end.
    std::vector<bpf_insn> block;
    std::vector<size_t> exits_block;
    if (rule.type != 0) {
      exits_block.push_back(block.size());
      block.push_back(JumpIfNotEqual(kType, rule.type, 0));
    }
    const uint32_t all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
    if (rule.access != all) {
      // The access asked for must be a subset of the rule's.
      block.push_back(MoveReg(kScratch, kAccess));
      block.push_back(AndImm(kScratch, static_cast<int32_t>(~rule.access & all)));
      exits_block.push_back(block.size());
      block.push_back(JumpIfNotEqual(kScratch, 0, 0));
    }
    if (rule.major != -1) {
      exits_block.push_back(block.size());
      block.push_back(JumpIfNotEqual(kMajor, static_cast<int32_t>(rule.major), 0));
    }
    if (rule.minor != -1) {
      exits_block.push_back(block.size());
      block.push_back(JumpIfNotEqual(kMinor, static_cast<int32_t>(rule.minor), 0));
    }
    block.push_back(Return(rule.allow ? 1 : 0));
    block.push_back(Exit());
    for (size_t at : exits_block) block[at].off = static_cast<int16_t>(block.size() - at - 1);
    program.insert(program.end(), block.begin(), block.end());
    // A rule that matches everything decides alone: what would follow is
    // unreachable, which the verifier refuses.
    if (exits_block.empty()) return program;
  }
  program.push_back(Return(0));
  program.push_back(Exit());
  return program;
}

bool DeviceRulesAllow(const std::vector<oci::DeviceRule>& rules, char type, int64_t major, int64_t minor, char access) {
  const int type_bit = type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
  const uint32_t access_bit = access == 'r' ? BPF_DEVCG_ACC_READ : access == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  for (size_t index = rules.size(); index-- > 0;) {
    Result<ParsedRule> rule = Parse(rules[index], index);
    if (rule.ok() && Matches(*rule, type_bit, major, minor, access_bit)) return rule->allow;
  }
  return false;
}

Status AttachDeviceFilter(int cgroup_fd, const std::vector<bpf_insn>& program) {
  SANDBOX_ASSIGN_OR_RETURN(UniqueFd prog, LoadDeviceProgram(program));
  bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(cgroup_fd);
  attach.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) != 0) {
    return ErrnoStatus("bpf(BPF_PROG_ATTACH)", "device cgroup program");
  }
  return Status::Ok();
}

}  // namespace sandbox::agent
