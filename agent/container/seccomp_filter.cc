#include "agent/container/seccomp_filter.h"

#include <seccomp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <memory>
#include <vector>

namespace sandbox::agent {
namespace {

Result<uint32_t> ActionOf(const std::string& name, std::optional<uint32_t> errno_ret, const std::string& field) {
  const uint32_t code = errno_ret.value_or(EPERM);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(code);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(code);
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    return Unimplemented(field + ": SCMP_ACT_NOTIFY is not supported (no seccomp listener inside a microVM)");
  }
  return InvalidArgument(field + ": unknown action " + name);
}

Result<scmp_compare> OperatorOf(const std::string& name, const std::string& field) {
  if (name == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (name == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (name == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (name == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (name == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (name == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (name == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return InvalidArgument(field + ": unknown operator " + name);
}

// "SCMP_ARCH_X86_64" -> libseccomp's "x86_64".
Result<uint32_t> ArchitectureOf(const std::string& name, const std::string& field) {
  std::string token = name.starts_with("SCMP_ARCH_") ? name.substr(10) : name;
  std::transform(token.begin(), token.end(), token.begin(), [](unsigned char c) { return std::tolower(c); });
  const uint32_t arch = seccomp_arch_resolve_name(token.c_str());
  if (arch == 0) return InvalidArgument(field + ": unknown architecture " + name);
  return arch;
}

using Context = std::unique_ptr<void, decltype(&seccomp_release)>;

Status ApplyFlags(scmp_filter_ctx context, const oci::Seccomp& seccomp) {
  for (const std::string& flag : seccomp.flags.value_or(oci::StringList{})) {
    int result = 0;
    if (flag == "SECCOMP_FILTER_FLAG_LOG") {
      result = seccomp_attr_set(context, SCMP_FLTATR_CTL_LOG, 1);
    } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      result = seccomp_attr_set(context, SCMP_FLTATR_CTL_SSB, 1);
    } else if (flag == "SECCOMP_FILTER_FLAG_TSYNC") {
      result = seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1);
    } else {
      return Unimplemented("linux.seccomp.flags: " + flag + " is not supported");
    }
    if (result != 0) return ErrnoStatus("seccomp_attr_set", "linux.seccomp.flags " + flag, -result);
  }
  return Status::Ok();
}

Result<std::vector<scmp_arg_cmp>> ConditionsOf(const oci::Syscall& rule, const std::string& field) {
  std::vector<scmp_arg_cmp> conditions;
  const auto& args = rule.args.value_or(std::vector<oci::SyscallArg>{});
  for (size_t j = 0; j < args.size(); ++j) {
    const std::string arg_field = field + ".args[" + std::to_string(j) + "]";
    SANDBOX_ASSIGN_OR_RETURN(scmp_compare op, OperatorOf(args[j].op, arg_field + ".op"));
    if (args[j].index > 5) return InvalidArgument(arg_field + ".index: a syscall has arguments 0 to 5");
    conditions.push_back({args[j].index, op, args[j].value, args[j].value_two.value_or(0)});
  }
  return conditions;
}

// runc's reading of args: conditions on distinct arguments must all hold
// (one rule); once an argument is compared more than once (the runtime-tools
// profile's personality rule), each condition is a rule of its own, so any
// one of them applies the action. libseccomp refuses the former as one rule.
std::vector<std::vector<scmp_arg_cmp>> RulesOf(const std::vector<scmp_arg_cmp>& conditions) {
  std::array<int, 6> per_argument{};
  bool repeated = false;
  for (const scmp_arg_cmp& condition : conditions) repeated |= ++per_argument[condition.arg] > 1;
  if (!repeated) return {conditions};
  std::vector<std::vector<scmp_arg_cmp>> rules;
  for (const scmp_arg_cmp& condition : conditions) rules.push_back({condition});
  return rules;
}

Status AddSyscallRule(scmp_filter_ctx context, const oci::Syscall& rule, const std::string& field,
                      uint32_t default_action) {
  SANDBOX_ASSIGN_OR_RETURN(uint32_t action, ActionOf(rule.action, rule.errno_ret, field + ".action"));
  SANDBOX_ASSIGN_OR_RETURN(std::vector<scmp_arg_cmp> conditions, ConditionsOf(rule, field));
  if (action == default_action) return Status::Ok();  // libseccomp refuses rules that change nothing
  for (const std::string& name : rule.names) {
    const int number = seccomp_syscall_resolve_name(name.c_str());
    if (number == __NR_SCMP_ERROR) continue;  // unknown here (newer kernel or other arch), as runc does
    for (const std::vector<scmp_arg_cmp>& each : RulesOf(conditions)) {
      const int added =
          seccomp_rule_add_array(context, action, number, static_cast<unsigned>(each.size()), each.data());
      if (added != 0) return ErrnoStatus("seccomp_rule_add", field + " " + name, -added);
    }
  }
  return Status::Ok();
}

Status Build(const oci::Seccomp& seccomp, bool load) {
  if (seccomp.listener_path) return Unimplemented("linux.seccomp.listenerPath: not supported (no seccomp listener inside a microVM)");
  SANDBOX_ASSIGN_OR_RETURN(uint32_t default_action,
                           ActionOf(seccomp.default_action, seccomp.default_errno_ret, "linux.seccomp.defaultAction"));
  Context context(seccomp_init(default_action), seccomp_release);
  if (!context) return Internal("linux.seccomp: seccomp_init failed");
  const auto& architectures = seccomp.architectures.value_or(oci::StringList{});
  for (size_t i = 0; i < architectures.size(); ++i) {
    const std::string field = "linux.seccomp.architectures[" + std::to_string(i) + "]";
    SANDBOX_ASSIGN_OR_RETURN(uint32_t arch, ArchitectureOf(architectures[i], field));
    const int added = seccomp_arch_add(context.get(), arch);
    if (added != 0 && added != -EEXIST) return ErrnoStatus("seccomp_arch_add", field, -added);
  }
  SANDBOX_RETURN_IF_ERROR(ApplyFlags(context.get(), seccomp));
  const auto& syscalls = seccomp.syscalls.value_or(std::vector<oci::Syscall>{});
  for (size_t i = 0; i < syscalls.size(); ++i) {
    const std::string field = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
    SANDBOX_RETURN_IF_ERROR(AddSyscallRule(context.get(), syscalls[i], field, default_action));
  }
  if (!load) return Status::Ok();
  // libseccomp would set no_new_privs itself; process.noNewPrivileges decides.
  const int kept = seccomp_attr_set(context.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (kept != 0) return ErrnoStatus("seccomp_attr_set", "linux.seccomp no_new_privs", -kept);
  const int loaded = seccomp_load(context.get());
  if (loaded != 0) return ErrnoStatus("seccomp_load", "linux.seccomp", -loaded);
  return Status::Ok();
}

}  // namespace

Status CheckSeccomp(const oci::Seccomp& seccomp) { return Build(seccomp, false); }
Status LoadSeccomp(const oci::Seccomp& seccomp) { return Build(seccomp, true); }

Status LoadSeccompAt(SeccompStage stage, const std::optional<oci::Seccomp>& seccomp, const oci::Process& process) {
  const SeccompStage wanted =
      process.no_new_privileges.value_or(false) ? SeccompStage::kBeforeExec : SeccompStage::kBeforeCapabilities;
  if (!seccomp || stage != wanted) return Status::Ok();
  return LoadSeccomp(*seccomp);
}

}  // namespace sandbox::agent
