#include "shim/runtime/state_store.h"

#include "common/base/temp_dir.h"
#include "common/base/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace sandbox::shim {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  TempDir temp_ = TempDir::CreateOrDie("/tmp/sandbox-store-");
  const std::string dir_ = temp_.path();

  static oci::State MakeState(const std::string& id, const std::string& status, int64_t pid) {
    oci::State state;
    state.oci_version = "1.3.0";
    state.id = id;
    state.status = status;
    state.pid = pid;
    state.bundle = "/bundles/" + id;
    return state;
  }

};

TEST_F(StateStoreTest, CreateLoadSaveRemove) {
  StateStore store(dir_ + "/root");
  ASSERT_TRUE(store.Create(MakeState("c1", "creating", 1)).ok());
  Result<oci::State> loaded = store.Load("c1");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->status, "creating");
  {
    Result<FileLock> lock = store.Lock("c1");
    ASSERT_TRUE(lock.ok());
    ASSERT_TRUE(store.Save(MakeState("c1", "created", 7)).ok());
  }
  EXPECT_EQ(store.Load("c1")->pid, 7);
  EXPECT_EQ(store.ListIds().value(), std::vector<std::string>{"c1"});
  ASSERT_TRUE(store.Remove("c1").ok());
  EXPECT_EQ(store.Load("c1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store.ListIds()->empty());
}

TEST_F(StateStoreTest, DuplicateIdIsRejectedAndKeepsTheOriginal) {
  StateStore store(dir_);
  ASSERT_TRUE(store.Create(MakeState("dup", "created", 1)).ok());
  Status second = store.Create(MakeState("dup", "creating", 2)).status();
  EXPECT_EQ(second.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(second.message().find("\"dup\" already exists"), std::string::npos);
  EXPECT_EQ(store.Load("dup")->pid, 1);
}

// The creator holds the lock from before its "creating" state is visible, so
// whoever else gets the lock and finds "creating" knows the creator is gone.
TEST_F(StateStoreTest, CreateHoldsTheLockUntilTheCreatorLetsGo) {
  StateStore store(dir_);
  auto lock_is_free = [&] {
    UniqueFd other(::open((dir_ + "/c/lock").c_str(), O_RDWR | O_CLOEXEC));
    if (!other.valid() || ::flock(other.get(), LOCK_EX | LOCK_NB) != 0) return false;
    return true;
  };
  {
    Result<FileLock> creating = store.Create(MakeState("c", "creating", 0));
    ASSERT_TRUE(creating.ok()) << creating.status().ToString();
    EXPECT_EQ(store.Load("c")->status, "creating");
    EXPECT_FALSE(lock_is_free());
  }
  EXPECT_TRUE(lock_is_free());
}

TEST_F(StateStoreTest, UnknownAndInvalidIds) {
  StateStore store(dir_);
  Result<oci::State> missing = store.Load("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("\"nope\" does not exist"), std::string::npos);
  EXPECT_EQ(store.Load("../etc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Create(MakeState("a/b", "creating", 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(PathExists(dir_ + "/a"));
  EXPECT_EQ(store.Lock("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(StateStoreTest, CorruptStateIsReportedWithItsPath) {
  StateStore store(dir_);
  ASSERT_TRUE(store.Create(MakeState("c", "created", 1)).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/c/state.json", "{\"id\": 3").ok());
  Result<oci::State> loaded = store.Load("c");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find(dir_ + "/c/state.json is corrupt"), std::string::npos);
}

// Two writer processes and a reader: every read sees a whole state.json.
TEST_F(StateStoreTest, ConcurrentWritersNeverTearState) {
  StateStore store(dir_);
  ASSERT_TRUE(store.Create(MakeState("shared", "created", 0)).ok());
  constexpr int kWrites = 200;
  pid_t writers[2];
  for (int w = 0; w < 2; ++w) {
    writers[w] = ::fork();
    ASSERT_GE(writers[w], 0);
    if (writers[w] == 0) {
      for (int i = 0; i < kWrites; ++i) {
        Result<FileLock> lock = store.Lock("shared");
        if (!lock.ok()) ::_exit(1);
        Result<oci::State> state = store.Load("shared");
        if (!state.ok()) ::_exit(2);
        state->pid = *state->pid + 1;  // read-modify-write: lost updates would show below
        state->bundle = std::string(100 + (i * 37 + w * 11) % 4000, 'a' + w);
        if (!store.Save(*state).ok()) ::_exit(3);
      }
      ::_exit(0);
    }
  }
  std::atomic<bool> done{false};
  int torn_reads = 0, reads = 0;
  std::thread reader([&] {
    while (!done) {
      Result<oci::State> state = store.Load("shared");
      ++reads;
      if (!state.ok()) ++torn_reads;
    }
  });
  for (pid_t writer : writers) {
    int status = 0;
    ASSERT_EQ(::waitpid(writer, &status, 0), writer);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn_reads, 0) << "of " << reads << " reads";
  EXPECT_EQ(store.Load("shared")->pid, 2 * kWrites);
}

}  // namespace
}  // namespace sandbox::shim
