#include "agent/container/cgroup_plan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "agent/container/device_filter.h"

namespace sandbox::agent {
namespace {

std::string Joined(const std::vector<CgroupWrite>& writes) {
  std::string text;
  for (const CgroupWrite& write : writes) text += write.file + "=" + write.value + ";";
  return text;
}

TEST(CgroupPlanTest, ConvertsTheSpecsV1ShapedLimitsToV2Files) {
  oci::Resources resources;
  resources.memory.emplace();
  resources.memory->limit = 512 << 20;
  resources.memory->reservation = 256 << 20;
  resources.memory->swap = 768 << 20;
  resources.cpu.emplace();
  resources.cpu->shares = 1024;
  resources.cpu->quota = 50000;
  resources.cpu->period = 100000;
  resources.cpu->cpus = "0-1";
  resources.pids.emplace().limit = 64;
  resources.block_io.emplace();
  resources.block_io->weight = 500;
  resources.block_io->throttle_read_bps_device = std::vector<oci::ThrottleDevice>{{.major = 8, .minor = 0, .rate = 1048576}};
  resources.hugepage_limits = std::vector<oci::HugepageLimit>{{.page_size = "2MB", .limit = 4194304}};
  resources.unified = oci::StringMap{{"memory.high", "400000000"}};
  Result<std::vector<CgroupWrite>> writes = PlanCgroupWrites(resources);
  ASSERT_TRUE(writes.ok()) << writes.status().message();
  EXPECT_EQ(Joined(*writes),
            "memory.max=536870912;memory.low=268435456;memory.swap.max=268435456;cpu.weight=39;"
            "cpu.max=50000 100000;cpuset.cpus=0-1;pids.max=64;io.weight=default 4950;io.max=8:0 rbps=1048576;"
            "hugetlb.2MB.max=4194304;memory.high=400000000;");
  EXPECT_EQ(ControllersFor(*writes), (std::vector<std::string>{"cpu", "cpuset", "hugetlb", "io", "memory", "pids"}));
}

TEST(CgroupPlanTest, UnlimitedValues) {
  oci::Resources resources;
  resources.memory.emplace();
  resources.memory->limit = -1;
  resources.memory->swap = -1;
  resources.cpu.emplace();
  resources.cpu->quota = -1;
  resources.cpu->period = 200000;
  resources.pids.emplace().limit = -1;
  Result<std::vector<CgroupWrite>> writes = PlanCgroupWrites(resources);
  ASSERT_TRUE(writes.ok());
  EXPECT_EQ(Joined(*writes), "memory.max=max;memory.swap.max=max;cpu.max=max 200000;pids.max=max;");
}

TEST(CgroupPlanTest, RunCsConversionFormulas) {
  EXPECT_EQ(CpuWeightFromShares(2), 1u);
  EXPECT_EQ(CpuWeightFromShares(262144), 10000u);
  EXPECT_EQ(IoWeightFromBlkioWeight(10), 1);
  EXPECT_EQ(IoWeightFromBlkioWeight(1000), 10000);
}

TEST(CgroupPlanTest, WhatV2CannotDoIsRefusedByField) {
  auto refused = [](oci::Resources resources, const std::string& field) {
    Result<std::vector<CgroupWrite>> writes = PlanCgroupWrites(resources);
    ASSERT_FALSE(writes.ok()) << field;
    EXPECT_NE(writes.status().message().find(field), std::string::npos) << writes.status().message();
  };
  oci::Resources kernel;
  kernel.memory.emplace().kernel = 1 << 20;
  refused(kernel, "linux.resources.memory.kernel");
  oci::Resources swappiness;
  swappiness.memory.emplace().swappiness = 10;
  refused(swappiness, "linux.resources.memory.swappiness");
  oci::Resources oom;
  oom.memory.emplace().disable_oom_killer = true;
  refused(oom, "linux.resources.memory.disableOOMKiller");
  oci::Resources swap_below;
  swap_below.memory.emplace();
  swap_below.memory->limit = 100 << 20;
  swap_below.memory->swap = 50 << 20;
  refused(swap_below, "linux.resources.memory.swap");
  oci::Resources network;
  network.network.emplace().class_id = 1;
  refused(network, "linux.resources.network");
  oci::Resources realtime;
  realtime.cpu.emplace().realtime_runtime = 1000;
  refused(realtime, "linux.resources.cpu.realtimeRuntime");
  oci::Resources shares;
  shares.cpu.emplace().shares = 1;
  refused(shares, "linux.resources.cpu.shares");
  oci::Resources weight;
  weight.block_io.emplace().weight = 5;
  refused(weight, "linux.resources.blockIO.weight");
  oci::Resources escape;
  escape.unified = oci::StringMap{{"../memory.max", "1"}};
  refused(escape, "linux.resources.unified");
  oci::Resources procs;
  procs.unified = oci::StringMap{{"cgroup.procs", "1"}};
  refused(procs, "linux.resources.unified");
}

oci::DeviceRule Rule(bool allow, std::optional<std::string> type, std::optional<int64_t> major,
                     std::optional<int64_t> minor, std::optional<std::string> access) {
  oci::DeviceRule rule;
  rule.allow = allow;
  rule.type = std::move(type);
  rule.major = major;
  rule.minor = minor;
  rule.access = std::move(access);
  return rule;
}

TEST(CgroupPlanTest, CheckBeforeUpdateRefusesLimitsBelowUsage) {
  oci::MemoryResources memory{.limit = 64 << 20, .swap = 96 << 20, .check_before_update = true};
  EXPECT_TRUE(CheckMemoryBeforeUpdate(memory, 32 << 20, 16 << 20).ok());
  Status below = CheckMemoryBeforeUpdate(memory, 65 << 20, 0);
  EXPECT_EQ(below.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(below.message().find("linux.resources.memory.limit: 67108864 is below the container's memory usage 68157440"),
            std::string::npos)
      << below.message();
  below = CheckMemoryBeforeUpdate(memory, 60 << 20, 40 << 20);
  EXPECT_NE(below.message().find("linux.resources.memory.swap"), std::string::npos) << below.message();
  EXPECT_TRUE(CheckMemoryBeforeUpdate({.limit = -1, .swap = -1}, 1ull << 40, 1ull << 40).ok()) << "unlimited";
}

TEST(DeviceFilterTest, LaterRulesWinAndDefaultDevicesStayAllowed) {
  oci::Spec spec;
  spec.linux.emplace();
  spec.linux->resources.emplace().devices = std::vector<oci::DeviceRule>{
      Rule(false, std::nullopt, std::nullopt, std::nullopt, "rwm"),  // deny everything
      Rule(true, "c", 10, 200, "r"),                                 // then allow reading one device
  };
  const std::vector<oci::DeviceRule> rules = EffectiveDeviceRules(spec);
  EXPECT_TRUE(DeviceRulesAllow(rules, 'c', 1, 3, 'w'));     // /dev/null, added like runc does
  EXPECT_TRUE(DeviceRulesAllow(rules, 'c', 136, 7, 'r'));   // a pts
  EXPECT_TRUE(DeviceRulesAllow(rules, 'c', 10, 200, 'r'));
  EXPECT_FALSE(DeviceRulesAllow(rules, 'c', 10, 200, 'w'));
  EXPECT_FALSE(DeviceRulesAllow(rules, 'c', 1, 1, 'm'));    // /dev/mem
  EXPECT_FALSE(DeviceRulesAllow(rules, 'b', 8, 0, 'r'));
  Result<std::vector<bpf_insn>> program = CompileDeviceFilter(rules);
  ASSERT_TRUE(program.ok());
  // 6 loads, one block per rule, the final deny.
  EXPECT_GT(program->size(), 6u + 2u * rules.size());
  EXPECT_EQ(program->back().code, BPF_JMP | BPF_EXIT);
}

TEST(DeviceFilterTest, BadRulesAreNamed) {
  Result<std::vector<bpf_insn>> bad_type = CompileDeviceFilter({Rule(true, "x", 1, 1, "r")});
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("linux.resources.devices[0].type"), std::string::npos);
  Result<std::vector<bpf_insn>> bad_access = CompileDeviceFilter({Rule(true, "c", 1, 1, "rx")});
  ASSERT_FALSE(bad_access.ok());
  EXPECT_NE(bad_access.status().message().find("linux.resources.devices[0].access"), std::string::npos);
}

// The load goes without a verifier log; a refused program is loaded again
// with one only to say why.
TEST(DeviceFilterTest, ARefusedProgramIsExplainedByTheVerifier) {
  if (::geteuid() != 0) GTEST_SKIP() << "loading a BPF program needs root";
  bpf_insn exit_only{};
  exit_only.code = BPF_JMP | BPF_EXIT;  // returns r0, which was never set
  const Status attached = AttachDeviceFilter(-1, {exit_only});
  ASSERT_FALSE(attached.ok());
  EXPECT_NE(attached.message().find("loading the device cgroup program: Permission denied: "), std::string::npos)
      << attached.message();
  EXPECT_NE(attached.message().find("R0 !read_ok"), std::string::npos) << attached.message();
}

}  // namespace
}  // namespace sandbox::agent
