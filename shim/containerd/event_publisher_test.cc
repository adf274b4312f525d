#include "shim/containerd/event_publisher.h"

#include <google/protobuf/any.pb.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "common/base/file_util.h"
#include "common/base/temp_dir.h"
#include "containerd/events.pb.h"

namespace sandbox::shim::containerd {
namespace {

// A stand-in for containerd's `publish` (a test double: it records its
// arguments and stdin, one file pair per call, in call order).
std::string FakePublisher(const std::string& dir) {
  const std::string path = dir + "/publish";
  EXPECT_TRUE(WriteFileAtomic(path,
                              "#!/bin/sh\n"
                              "n=$(ls " + dir + " | grep -c '^args')\n"
                              "echo \"$@\" > " + dir + "/args$n\n"
                              "cat > " + dir + "/stdin$n\n",
                              0755)
                  .ok());
  return path;
}

TEST(EventPublisher, PublishesEachEventAsAnAnyInOrder) {
  TempDir dir = TempDir::CreateOrDie("/tmp/sandbox-publisher-");
  std::vector<std::string> logged;
  {
    EventPublisher publisher({FakePublisher(dir.path()), "--address", "/run/c.sock.ttrpc"}, "k8s.io",
                             [&](const std::string& line) { logged.push_back(line); });
    ::containerd::events::TaskExit exit;
    exit.set_container_id("c1");
    exit.set_id("c1");
    exit.set_exit_status(3);
    publisher.Publish({.topic = "/tasks/exit", .type_name = "containerd.events.TaskExit",
                       .payload = exit.SerializeAsString()});
    ::containerd::events::TaskDelete deleted;
    deleted.set_container_id("c1");
    publisher.Publish({.topic = "/tasks/delete", .type_name = "containerd.events.TaskDelete",
                       .payload = deleted.SerializeAsString()});
  }  // the destructor publishes what is queued
  EXPECT_TRUE(logged.empty());
  EXPECT_EQ(ReadFile(dir.path() + "/args0").value_or(""),
            "--address /run/c.sock.ttrpc publish --topic /tasks/exit --namespace k8s.io\n");
  EXPECT_EQ(ReadFile(dir.path() + "/args1").value_or(""),
            "--address /run/c.sock.ttrpc publish --topic /tasks/delete --namespace k8s.io\n");
  google::protobuf::Any any;
  ASSERT_TRUE(any.ParseFromString(ReadFile(dir.path() + "/stdin0").value_or("")));
  EXPECT_EQ(any.type_url(), "containerd.events.TaskExit");
  ::containerd::events::TaskExit decoded;
  ASSERT_TRUE(decoded.ParseFromString(any.value()));
  EXPECT_EQ(decoded.container_id(), "c1");
  EXPECT_EQ(decoded.exit_status(), 3u);
}

TEST(EventPublisher, AFailedPublishIsLogged) {
  std::vector<std::string> logged;
  {
    EventPublisher publisher({"/bin/false"}, "default", [&](const std::string& line) { logged.push_back(line); });
    publisher.Publish({.topic = "/tasks/start", .type_name = "containerd.events.TaskStart", .payload = ""});
  }
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("/tasks/start"), std::string::npos) << logged[0];
}

}  // namespace
}  // namespace sandbox::shim::containerd
