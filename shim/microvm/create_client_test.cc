#include "shim/microvm/create_client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace sandbox::shim {
namespace {

// The report pipe as create makes it: the read end in another process (the
// client), which a test can SIGKILL as a client's timeout does.
class CreateClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_sigpipe_ = ::signal(SIGPIPE, SIG_IGN);  // as RunMonitor
    int report[2];
    ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
    client_pid_ = ::fork();
    ASSERT_GE(client_pid_, 0);
    if (client_pid_ == 0) {
      ::close(report[1]);
      ::pause();
      ::_exit(0);
    }
    ::close(report[0]);
    client_.emplace(UniqueFd(report[1]));
    int never[2];
    ASSERT_EQ(::pipe2(never, O_CLOEXEC), 0);
    never_read_.Reset(never[0]);
    never_write_.Reset(never[1]);
  }
  void TearDown() override {
    KillClient();
    ::signal(SIGPIPE, previous_sigpipe_);
  }
  void KillClient() {
    if (client_pid_ <= 0) return;
    ::kill(client_pid_, SIGKILL);
    ::waitpid(client_pid_, nullptr, 0);
    client_pid_ = -1;
  }

  sighandler_t previous_sigpipe_ = SIG_DFL;
  pid_t client_pid_ = -1;
  std::optional<CreateClient> client_;
  UniqueFd never_read_;  // a pipe nobody writes to
  UniqueFd never_write_;
};

TEST_F(CreateClientTest, ALiveClientIsNotGoneAndWaitsRunTheirCourse) {
  EXPECT_FALSE(client_->Gone());
  const Status timed_out = client_->WaitReadable(never_read_.get(), std::chrono::milliseconds(50), "the agent");
  EXPECT_EQ(timed_out.code(), StatusCode::kDeadlineExceeded) << timed_out.ToString();
  EXPECT_NE(timed_out.message().find("the agent"), std::string::npos) << timed_out.message();
  ASSERT_EQ(::write(never_write_.get(), "x", 1), 1);
  EXPECT_TRUE(client_->WaitReadable(never_read_.get(), std::chrono::seconds(10), "the agent").ok());
}

TEST_F(CreateClientTest, AKilledClientIsGoneAndTheReportFails) {
  KillClient();
  EXPECT_TRUE(client_->Gone());
  const Status report = client_->Report("ok");
  EXPECT_EQ(report.code(), StatusCode::kUnavailable) << report.ToString();
  EXPECT_TRUE(client_->Gone()) << "still, after the failed report";
  EXPECT_FALSE(client_->Report("error: again").ok());
}

// The boot wait and the stream accepts end as soon as the client dies, not
// when their own (long) limits run out.
TEST_F(CreateClientTest, AWaitEndsWhenTheClientIsKilledDuringIt) {
  std::thread killer([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    KillClient();
  });
  const auto start = std::chrono::steady_clock::now();
  const Status waited = client_->WaitReadable(never_read_.get(), std::chrono::seconds(30), "the agent");
  const auto took = std::chrono::steady_clock::now() - start;
  killer.join();
  EXPECT_EQ(waited.code(), StatusCode::kUnavailable) << waited.ToString();
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(CreateClientReportTest, TheReportReachesALiveClientAndClosesThePipe) {
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  UniqueFd reader(report[0]);
  CreateClient client{UniqueFd(report[1])};
  const std::string long_error = "error: " + std::string(100'000, 'e');  // more than a pipe holds
  std::string received;
  std::thread read_all([&] {
    char buffer[4096];
    for (ssize_t got; (got = ::read(reader.get(), buffer, sizeof(buffer))) > 0;) received.append(buffer, got);
  });
  EXPECT_TRUE(client.Report(long_error).ok());
  read_all.join();  // ends at EOF: the pipe is closed
  EXPECT_EQ(received, long_error);
  EXPECT_FALSE(client.Gone()) << "handed over";
}

}  // namespace
}  // namespace sandbox::shim
