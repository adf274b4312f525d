#include "common/net/netns.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/net/netns_test_util.h"

namespace sandbox::net {
namespace {

using NetnsTest = testing::PrivateNetnsTest;

std::string CurrentNetns() {
  return std::filesystem::read_symlink("/proc/thread-self/ns/net").string();
}

// A thread parked in a new network namespace holding a veth "probe0", so a
// test can enter that namespace through /proc/self/task/<tid>/ns/net.
class ParkedNamespace {
 public:
  ParkedNamespace() {
    thread_ = std::thread([this] {
      const Status status = [&]() -> Status {
        if (::unshare(CLONE_NEWNET) != 0) return ErrnoStatus("unshare", "CLONE_NEWNET");
        SANDBOX_ASSIGN_OR_RETURN(NetlinkSocket socket, NetlinkSocket::Open());
        return CreateVethPair(socket, "probe0", "probe1");
      }();
      std::unique_lock lock(mutex_);
      status_ = status;
      path_ = "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net";
      ready_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return done_; });
    });
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return ready_; });
  }
  ~ParkedNamespace() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  const Status& status() const { return status_; }
  const std::string& path() const { return path_; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool ready_ = false;
  bool done_ = false;
  Status status_;
  std::string path_;
  std::thread thread_;
};

TEST_F(NetnsTest, RunsInTheNamedNamespaceOnly) {
  ParkedNamespace parked;
  ASSERT_TRUE(parked.status().ok()) << parked.status().message();
  const std::string before = CurrentNetns();
  std::string inside;
  const Status status = RunInNetns(parked.path(), [&]() -> Status {
    inside = CurrentNetns();
    SANDBOX_ASSIGN_OR_RETURN(NetlinkSocket socket, NetlinkSocket::Open());
    return FindLinkByName(socket, "probe0").status();
  });
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_NE(inside, before);
  EXPECT_EQ(CurrentNetns(), before);
}

TEST_F(NetnsTest, ReturnsTheWorksStatus) {
  const Status status = RunInNewNetns([] { return InvalidArgument("from inside"); });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "from inside");
}

TEST(Netns, ErrorsNameThePath) {
  bool ran = false;
  const Status missing = RunInNetns("/nonexistent/netns", [&] {
    ran = true;
    return Status::Ok();
  });
  EXPECT_FALSE(ran);
  EXPECT_EQ(missing.message(), "open /nonexistent/netns: No such file or directory");
  // A file that is not a namespace: setns refuses it.
  const Status not_netns = RunInNetns("/proc/self/exe", [&] {
    ran = true;
    return Status::Ok();
  });
  EXPECT_FALSE(ran);
  EXPECT_EQ(not_netns.message().rfind("setns /proc/self/exe: ", 0), 0u) << not_netns.message();
}

}  // namespace
}  // namespace sandbox::net
