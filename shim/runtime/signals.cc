#include "shim/runtime/signals.h"

#include <pthread.h>
#include <signal.h>
#include <strings.h>

#include <charconv>
#include <string>
#include <utility>

namespace sandbox::shim {
namespace {

constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS}};

}  // namespace

Result<int> ParseSignal(std::string_view text) {
  int number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error == std::errc() && end == text.data() + text.size()) {
    if (number <= 0 || number >= NSIG) return InvalidArgument("invalid signal number " + std::string(text));
    return number;
  }
  std::string name(text);
  if (name.size() > 3 && strncasecmp(name.c_str(), "SIG", 3) == 0) name = name.substr(3);
  for (const auto& [signal_name, signal_number] : kSignals) {
    if (strcasecmp(name.c_str(), signal_name) == 0) return signal_number;
  }
  // Real-time signals: RTMIN, RTMIN+n, RTMAX-n.
  if (strncasecmp(name.c_str(), "RTMIN", 5) == 0 || strncasecmp(name.c_str(), "RTMAX", 5) == 0) {
    bool from_min = strncasecmp(name.c_str(), "RTMIN", 5) == 0;
    int offset = 0;
    std::string rest = name.substr(5);
    if (!rest.empty()) {
      char sign = rest[0];
      auto [rest_end, rest_error] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), offset);
      if ((sign != '+' && sign != '-') || rest_error != std::errc() || rest_end != rest.data() + rest.size() ||
          (from_min && sign != '+') || (!from_min && sign != '-')) {
        return InvalidArgument("unknown signal \"" + std::string(text) + "\"");
      }
    }
    int signal = from_min ? SIGRTMIN + offset : SIGRTMAX - offset;
    if (signal >= SIGRTMIN && signal <= SIGRTMAX) return signal;
  }
  return InvalidArgument("unknown signal \"" + std::string(text) + "\"");
}

sigset_t ForwardedSignals() {
  sigset_t forwarded;
  ::sigemptyset(&forwarded);
  for (int signal : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU}) {
    ::sigaddset(&forwarded, signal);
  }
  return forwarded;
}

DeferForwardedSignals::DeferForwardedSignals() {
  const sigset_t forwarded = ForwardedSignals();
  ::pthread_sigmask(SIG_BLOCK, &forwarded, &previous_);
}

DeferForwardedSignals::~DeferForwardedSignals() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

}  // namespace sandbox::shim
