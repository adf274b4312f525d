#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <future>
#include <thread>

#include "common/ttrpc/client.h"
#include "common/ttrpc/frame.h"
#include "common/ttrpc/server.h"
#include "ttrpc.pb.h"

namespace sandbox::ttrpc {
namespace {

std::pair<UniqueFd, UniqueFd> SocketPair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A server with an echo method, a method that waits for a signal, and a failing one.
class TtrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Register("test.v1.Echo", "Echo", [](const std::string& payload, const CallContext& context) {
      std::string reply = payload;
      for (const auto& [key, value] : context.metadata) reply += "|" + key + "=" + value;
      return Result<std::string>(reply);
    });
    server_.Register("test.v1.Echo", "Slow", [this](const std::string& payload, const CallContext&) {
      release_.get_future().wait();
      return Result<std::string>("slow:" + payload);
    });
    server_.Register("test.v1.Echo", "Fail", [](const std::string&, const CallContext&) {
      return Result<std::string>(NotFound("container \"x\" does not exist"));
    });
    server_.Register("test.v1.Echo", "Deadline", [](const std::string&, const CallContext& context) {
      return Result<std::string>(context.deadline ? "has deadline" : "none");
    });
    auto [client_end, server_end] = SocketPair();
    server_thread_ = std::thread([this, fd = std::move(server_end)]() mutable {
      served_ = server_.ServeConnection(std::move(fd));
    });
    client_ = std::make_unique<Client>(std::move(client_end));
  }
  void TearDown() override {
    Release();  // a handler still waiting would keep ServeConnection joining
    client_.reset();
    server_thread_.join();
  }
  void Release() {
    if (!released_.exchange(true)) release_.set_value();
  }

  Server server_;
  std::atomic<bool> released_{false};
  std::promise<void> release_;
  std::thread server_thread_;
  Status served_;
  std::unique_ptr<Client> client_;
};

TEST_F(TtrpcTest, EchoWithMetadata) {
  Result<std::string> reply = client_->Call("test.v1.Echo", "Echo", std::string("bin\0ary", 7),
                                            std::chrono::seconds(5), {{"k", "v"}});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(*reply, std::string("bin\0ary", 7) + "|k=v");
}

TEST_F(TtrpcTest, ServerErrorsKeepTheirCodeAndMessage) {
  Result<std::string> reply = client_->Call("test.v1.Echo", "Fail", "");
  EXPECT_EQ(reply.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reply.status().message(), "container \"x\" does not exist");
  Result<std::string> unknown = client_->Call("test.v1.Echo", "Nope", "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(unknown.status().message().find("test.v1.Echo/Nope"), std::string::npos);
  // The connection lives on after errors.
  EXPECT_EQ(client_->Call("test.v1.Echo", "Echo", "again").value(), "again");
}

TEST_F(TtrpcTest, ManyCallsInFlightCompleteOutOfOrder) {
  auto slow = std::async(std::launch::async, [&] { return client_->Call("test.v1.Echo", "Slow", "s"); });
  std::vector<std::future<Result<std::string>>> fast;
  for (int i = 0; i < 20; ++i) {
    fast.push_back(std::async(std::launch::async, [&, i] {
      return client_->Call("test.v1.Echo", "Echo", std::to_string(i));
    }));
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fast[i].get().value(), std::to_string(i));
  Release();  // the slow call finishes last
  EXPECT_EQ(slow.get().value(), "slow:s");
}

TEST_F(TtrpcTest, DeadlinesExpireOnTheClientAndReachTheServer) {
  Result<std::string> late = client_->Call("test.v1.Echo", "Slow", "x", std::chrono::milliseconds(50));
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(late.status().message().find("test.v1.Echo/Slow timed out"), std::string::npos);
  EXPECT_EQ(client_->Call("test.v1.Echo", "Deadline", "").value(), "has deadline");
  EXPECT_EQ(client_->Call("test.v1.Echo", "Deadline", "", std::chrono::nanoseconds(0)).value(), "none");
}

TEST_F(TtrpcTest, OversizedRequestIsRefusedByTheClient) {
  Result<std::string> reply = client_->Call("test.v1.Echo", "Echo", std::string(kMaxMessageSize + 1, 'x'));
  EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Call("test.v1.Echo", "Echo", "ok").value(), "ok");
}

// Raw frames against the server: what a broken or hostile peer might send.
class RawServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Register("s", "m", [](const std::string& payload, const CallContext&) {
      return Result<std::string>("ok:" + payload);
    });
    auto [peer, server_end] = SocketPair();
    peer_ = std::move(peer);
    thread_ = std::thread([this, fd = std::move(server_end)]() mutable { served_ = server_.ServeConnection(std::move(fd)); });
  }
  void TearDown() override {
    peer_.Reset();
    thread_.join();
  }
  Response ReadResponse(uint32_t want_stream) {
    Result<Frame> frame = ReadFrame(peer_.get());
    EXPECT_TRUE(frame.ok()) << frame.status().ToString();
    EXPECT_EQ(frame->stream_id, want_stream);
    EXPECT_EQ(frame->type, static_cast<uint8_t>(FrameType::kResponse));
    Response response;
    EXPECT_TRUE(response.ParseFromString(frame->payload));
    return response;
  }
  static std::string EncodedRequest(const std::string& service, const std::string& method) {
    Request request;
    request.set_service(service);
    request.set_method(method);
    request.set_payload("p");
    return request.SerializeAsString();
  }

  Server server_;
  UniqueFd peer_;
  std::thread thread_;
  Status served_;
};

TEST_F(RawServerTest, HeaderIsBigEndian) {
  auto header = EncodeHeader(0x01020304, 0x0A0B0C0D, 1, 0);
  EXPECT_EQ(header[0], 0x01);
  EXPECT_EQ(header[3], 0x04);
  EXPECT_EQ(header[4], 0x0A);
  EXPECT_EQ(header[7], 0x0D);
  EXPECT_EQ(header[8], 1);
}

TEST_F(RawServerTest, MalformedProtobufGetsAnErrorAndTheConnectionLives) {
  ASSERT_TRUE(WriteFrame(peer_.get(), 1, FrameType::kRequest, 0, "\xff\xff\xff garbage").ok());
  Response bad = ReadResponse(1);
  EXPECT_EQ(bad.status().code(), 3);  // INVALID_ARGUMENT
  ASSERT_TRUE(WriteFrame(peer_.get(), 3, FrameType::kRequest, 0, EncodedRequest("s", "m")).ok());
  EXPECT_EQ(ReadResponse(3).payload(), "ok:p");
}

TEST_F(RawServerTest, OversizedFrameIsDrainedAndAnswered) {
  std::string huge(kMaxMessageSize + 10, 'z');
  auto header = EncodeHeader(static_cast<uint32_t>(huge.size()), 5, 1, 0);
  std::thread writer([&] {
    ASSERT_EQ(::write(peer_.get(), header.data(), header.size()), static_cast<ssize_t>(header.size()));
    size_t sent = 0;
    while (sent < huge.size()) {
      ssize_t n = ::write(peer_.get(), huge.data() + sent, huge.size() - sent);
      ASSERT_GT(n, 0);
      sent += static_cast<size_t>(n);
    }
    ASSERT_TRUE(WriteFrame(peer_.get(), 7, FrameType::kRequest, 0, EncodedRequest("s", "m")).ok());
  });
  Response refused = ReadResponse(5);
  EXPECT_EQ(refused.status().code(), 3);
  EXPECT_NE(refused.status().message().find("exceeds"), std::string::npos);
  EXPECT_EQ(ReadResponse(7).payload(), "ok:p");
  writer.join();
}

TEST_F(RawServerTest, EvenStreamIdsAndWrongTypesAreRejected) {
  ASSERT_TRUE(WriteFrame(peer_.get(), 2, FrameType::kRequest, 0, EncodedRequest("s", "m")).ok());
  EXPECT_EQ(ReadResponse(2).status().code(), 3);
  ASSERT_TRUE(WriteFrame(peer_.get(), 9, FrameType::kResponse, 0, "").ok());
  EXPECT_EQ(ReadResponse(9).status().code(), 3);
}

TEST_F(RawServerTest, PeerVanishingMidFrameEndsTheConnectionWithAnError) {
  auto header = EncodeHeader(100, 1, 1, 0);
  ASSERT_EQ(::write(peer_.get(), header.data(), header.size()), static_cast<ssize_t>(header.size()));
  ASSERT_EQ(::write(peer_.get(), "short", 5), 5);
  peer_.Reset();
  thread_.join();
  EXPECT_EQ(served_.code(), StatusCode::kUnavailable);
  EXPECT_NE(served_.message().find("mid-frame"), std::string::npos);
  thread_ = std::thread([] {});
}

TEST(TtrpcClient, PendingCallsFailWhenThePeerVanishes) {
  auto [client_end, server_end] = SocketPair();
  Client client(std::move(client_end));
  std::thread closer([fd = std::move(server_end)]() mutable {
    // Read the request, then hang up without answering.
    Result<Frame> frame = ReadFrame(fd.get());
    EXPECT_TRUE(frame.ok());
    fd.Reset();
  });
  Result<std::string> reply = client.Call("s", "m", "x", std::chrono::seconds(10));
  closer.join();
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("connection closed"), std::string::npos);
  // Later calls fail at once with the same cause.
  EXPECT_EQ(client.Call("s", "m", "y").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sandbox::ttrpc
