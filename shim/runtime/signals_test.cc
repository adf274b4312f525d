#include "shim/runtime/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace sandbox::shim {
namespace {

TEST(Signals, NamesNumbersAndPrefixes) {
  EXPECT_EQ(ParseSignal("KILL").value(), SIGKILL);
  EXPECT_EQ(ParseSignal("SIGKILL").value(), SIGKILL);
  EXPECT_EQ(ParseSignal("sigterm").value(), SIGTERM);
  EXPECT_EQ(ParseSignal("9").value(), 9);
  EXPECT_EQ(ParseSignal("WINCH").value(), SIGWINCH);
  EXPECT_EQ(ParseSignal("RTMIN").value(), SIGRTMIN);
  EXPECT_EQ(ParseSignal("RTMIN+2").value(), SIGRTMIN + 2);
  EXPECT_EQ(ParseSignal("SIGRTMAX-1").value(), SIGRTMAX - 1);
}

TEST(Signals, RejectsNonsense) {
  for (const char* text : {"", "0", "-1", "65", "FOO", "SIG", "9x", "RTMIN-1", "RTMAX+1", "RTMIN+99"}) {
    Result<int> signal = ParseSignal(text);
    EXPECT_FALSE(signal.ok()) << text;
  }
  EXPECT_NE(ParseSignal("FOO").status().message().find("\"FOO\""), std::string::npos);
}

}  // namespace
}  // namespace sandbox::shim
