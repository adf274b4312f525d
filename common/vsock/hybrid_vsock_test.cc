#include "common/vsock/hybrid_vsock.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/base/temp_dir.h"
#include "common/base/unix_socket.h"

namespace sandbox {
namespace {

using std::chrono::milliseconds;

// Plays sandbox-vmm's side of one connection: reads the CONNECT line, then
// answers `reply` (nothing at all when empty) and keeps the socket open
// until the client is done.
class FakeVmm {
 public:
  FakeVmm(const std::string& path, std::string reply) : reply_(std::move(reply)) {
    Result<UniqueFd> listener = ListenUnix(path, 1);
    EXPECT_TRUE(listener.ok()) << listener.status().message();
    if (listener.ok()) listener_ = std::move(listener).value();
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeVmm() { thread_.join(); }
  std::string request() const { return request_; }

 private:
  void Serve() {
    Result<UniqueFd> peer = AcceptWithin(listener_.get(), std::chrono::seconds(5), "fake vmm");
    if (!peer.ok()) return;
    char byte;
    while (::recv(peer->get(), &byte, 1, 0) == 1 && byte != '\n') request_.push_back(byte);
    if (!reply_.empty()) (void)::send(peer->get(), reply_.data(), reply_.size(), MSG_NOSIGNAL);
    // Until the client closes its end.
    while (::recv(peer->get(), &byte, 1, 0) > 0) {
    }
  }

  std::string reply_;
  std::string request_;
  UniqueFd listener_;
  std::thread thread_;
};

class HybridVsockTest : public ::testing::Test {
 protected:
  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-hybrid-vsock-");
  std::string path_ = temp_.path() + "/vsock.sock";
};

TEST_F(HybridVsockTest, ConnectsAndKeepsTheBytesAfterTheReplyLine) {
  FakeVmm vmm(path_, "OK 1073741824\nhello");
  {
    Result<UniqueFd> connection = ConnectHybridVsockOnce(path_, 1024, milliseconds(5000));
    ASSERT_TRUE(connection.ok()) << connection.status().message();
    char data[5];
    ASSERT_EQ(::recv(connection->get(), data, sizeof(data), MSG_WAITALL), 5);
    EXPECT_EQ(std::string(data, 5), "hello");
  }
  EXPECT_EQ(vmm.request(), "CONNECT 1024");
}

// A guest that hung after its vsock driver came up never answers: the
// attempt must end (the shim's boot wait checks the VMM and its deadline).
TEST_F(HybridVsockTest, SilentGuestTimesOut) {
  FakeVmm vmm(path_, "");
  const auto started = std::chrono::steady_clock::now();
  Result<UniqueFd> connection = ConnectHybridVsockOnce(path_, 1024, milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(connection.status().message().find("no answer from the guest within 200 ms"), std::string::npos)
      << connection.status().message();
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(HybridVsockTest, RetriesEndAtTheirTimeoutWhenTheGuestIsSilent) {
  FakeVmm vmm(path_, "");
  const auto started = std::chrono::steady_clock::now();
  Result<UniqueFd> connection = ConnectHybridVsock(path_, 1024, milliseconds(100));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(took, std::chrono::seconds(5)) << "one attempt waits about a second, not forever";
}

TEST_F(HybridVsockTest, UnexpectedReplyIsAnError) {
  FakeVmm vmm(path_, "NO\n");
  Result<UniqueFd> connection = ConnectHybridVsockOnce(path_, 1024, milliseconds(5000));
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kInternal);
  EXPECT_NE(connection.status().message().find("unexpected reply \"NO\""), std::string::npos);
}

TEST_F(HybridVsockTest, NoVmmIsUnavailable) {
  Result<UniqueFd> connection = ConnectHybridVsockOnce(path_, 1024, milliseconds(100));
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
}

TEST_F(HybridVsockTest, RetriesStopOnceTheVmmHasExited) {
  int asked = 0;
  const auto started = std::chrono::steady_clock::now();
  Result<UniqueFd> connection = ConnectHybridVsock(path_, 1024, milliseconds(10000), [&] { return ++asked == 3; });
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(connection.status().message().find("the VMM has exited"), std::string::npos)
      << connection.status().message();
  EXPECT_EQ(asked, 3);
  EXPECT_LT(took, std::chrono::seconds(5)) << "not the whole 10 s timeout";
}

TEST_F(HybridVsockTest, RetriesGoOnWhileTheVmmRuns) {
  int asked = 0;
  Result<UniqueFd> connection = ConnectHybridVsock(path_, 1024, milliseconds(300), [&] { return ++asked > 1000; });
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(connection.status().message().find("the VMM has exited"), std::string::npos);
  EXPECT_GE(asked, 2) << "retried until its timeout";
}

// A VMM whose guest refuses: each connection is closed unanswered, as
// sandbox-vmm does when nothing listens on the port in the guest.
class RefusingVmm {
 public:
  explicit RefusingVmm(const std::string& path) {
    Result<UniqueFd> listener = ListenUnix(path, 8);
    EXPECT_TRUE(listener.ok()) << listener.status().message();
    if (listener.ok()) listener_ = std::move(listener).value();
    thread_ = std::thread([this] {
      while (!done_) (void)AcceptWithin(listener_.get(), milliseconds(20), "refusing vmm");
    });
  }
  ~RefusingVmm() {
    done_ = true;
    thread_.join();
  }

 private:
  UniqueFd listener_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Attempts are counted by the vmm_gone check that precedes each wait: a
// guest that refuses is asked again only every 50 ms (each attempt costs
// it a packet exchange), a VMM whose socket is not there yet far more often
// (a template's restore makes it while its guest already listens).
TEST_F(HybridVsockTest, ARefusingGuestIsAskedLessOftenThanAMissingSocketIsLookedFor) {
  int missing_checks = 0;
  ASSERT_FALSE(ConnectHybridVsock(path_, 1024, milliseconds(500), [&] { return ++missing_checks > 100000; }).ok());
  int refused_checks = 0;
  {
    RefusingVmm vmm(path_);
    ASSERT_FALSE(ConnectHybridVsock(path_, 1024, milliseconds(500), [&] { return ++refused_checks > 100000; }).ok());
  }
  EXPECT_LE(refused_checks, 11) << "one attempt per 50 ms at most";
  EXPECT_GE(missing_checks, 15) << "a missing socket is looked for every 5 ms";
}

}  // namespace
}  // namespace sandbox
