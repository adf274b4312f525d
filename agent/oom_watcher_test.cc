#include "agent/oom_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "common/base/temp_dir.h"

namespace sandbox::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// memory.events as the kernel writes it.
std::string MemoryEvents(int oom, int oom_kill) {
  return "low 0\nhigh 0\nmax 12\noom " + std::to_string(oom) + "\noom_kill " + std::to_string(oom_kill) +
         "\noom_group_kill 0\n";
}

TEST(ParseOomKills, ReadsTheCount) {
  EXPECT_EQ(ParseOomKills(MemoryEvents(3, 2)), 2u);
  EXPECT_EQ(ParseOomKills("oom_kill 7"), 7u);
  EXPECT_EQ(ParseOomKills("oom_group_kill 1\noom_kill 0\n"), 0u);
}

TEST(ParseOomKills, RefusesWhatIsNotACount) {
  EXPECT_EQ(ParseOomKills(""), std::nullopt);
  EXPECT_EQ(ParseOomKills("oom 3\n"), std::nullopt);
  EXPECT_EQ(ParseOomKills("oom_kill x\n"), std::nullopt);
  EXPECT_EQ(ParseOomKills("oom_kill 12abc\n"), std::nullopt);
  EXPECT_EQ(ParseOomKills("oom_kill -1\n"), std::nullopt);
}

// A regular file stands in for memory.events: inotify reports its writes
// the same way (IN_MODIFY).
class OomWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<OomWatcher>> watcher = OomWatcher::Create();
    ASSERT_TRUE(watcher.ok()) << watcher.status().message();
    watcher_ = std::move(watcher).value();
  }
  std::string Events(const std::string& name, int oom, int oom_kill) {
    // In place, as the kernel updates it (a rename would be another inode).
    const std::string path = temp_.path() + "/" + name;
    std::ofstream(path, std::ios::trunc) << MemoryEvents(oom, oom_kill);
    return path;
  }
  std::string NextWithin(milliseconds wait) { return watcher_->Next(steady_clock::now() + wait); }

  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-oom-watcher-");
  std::unique_ptr<OomWatcher> watcher_;
};

TEST_F(OomWatcherTest, ARiseOfTheCountIsAnEvent) {
  ASSERT_TRUE(watcher_->Watch("web", Events("web", 1, 1)).ok());
  Events("web", 2, 2);
  EXPECT_EQ(NextWithin(milliseconds(5000)), "web");
  EXPECT_EQ(NextWithin(milliseconds(100)), "") << "one rise, one event";
}

TEST_F(OomWatcherTest, OtherCountersAreNoEvent) {
  ASSERT_TRUE(watcher_->Watch("web", Events("web", 0, 0)).ok());
  Events("web", 4, 0);  // the limit was hit, reclaim coped: nothing was killed
  const auto deadline = steady_clock::now() + milliseconds(300);
  EXPECT_EQ(watcher_->Next(deadline), "");
  EXPECT_GE(steady_clock::now(), deadline) << "it waits until the deadline";
}

TEST_F(OomWatcherTest, EachContainerIsNamed) {
  ASSERT_TRUE(watcher_->Watch("a", Events("a", 0, 0)).ok());
  ASSERT_TRUE(watcher_->Watch("b", Events("b", 0, 0)).ok());
  Events("b", 1, 1);
  Events("a", 1, 1);
  std::vector<std::string> seen{NextWithin(milliseconds(5000)), NextWithin(milliseconds(5000))};
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TEST_F(OomWatcherTest, AWaitingCallerWakesUp) {
  ASSERT_TRUE(watcher_->Watch("web", Events("web", 0, 0)).ok());
  std::thread writer([this] {
    std::this_thread::sleep_for(milliseconds(200));
    Events("web", 1, 1);
  });
  EXPECT_EQ(NextWithin(milliseconds(10'000)), "web");
  writer.join();
}

TEST_F(OomWatcherTest, UnwatchedAndRemovedContainersAreQuiet) {
  ASSERT_TRUE(watcher_->Watch("gone", Events("gone", 0, 0)).ok());
  ASSERT_TRUE(watcher_->Watch("removed", Events("removed", 0, 0)).ok());
  watcher_->Unwatch("gone");
  Events("gone", 1, 1);
  ASSERT_EQ(::unlink((temp_.path() + "/removed").c_str()), 0);
  EXPECT_EQ(NextWithin(milliseconds(200)), "");
}

TEST_F(OomWatcherTest, AMissingOrMalformedFileIsRefused) {
  Status missing = watcher_->Watch("x", temp_.path() + "/none");
  EXPECT_FALSE(missing.ok());
  std::ofstream(temp_.path() + "/bad") << "oom 1\n";
  Status malformed = watcher_->Watch("x", temp_.path() + "/bad");
  EXPECT_FALSE(malformed.ok());
  EXPECT_NE(malformed.message().find("no oom_kill count"), std::string::npos) << malformed.message();
}

}  // namespace
}  // namespace sandbox::agent
