// Status and Result<T>: the one error vocabulary of sandbox-rt.
//
// A Status is a code plus a human message that names the failing object and
// cause. Fallible functions return Status or Result<T>; both are [[nodiscard]].
// Exceptions from third-party libraries are caught at their adapters and turned
// into a Status there; they never cross a module boundary.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sandbox {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input: config, flags, ids
  kNotFound,         // a named object does not exist
  kAlreadyExists,
  kFailedPrecondition,  // wrong lifecycle state, missing host feature
  kUnavailable,         // a peer or resource is not reachable now
  kDeadlineExceeded,
  kUnimplemented,  // a feature this build does not support
  kInternal,       // an OS call or invariant failed
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context ("creating state dir: mkdir ...").
  Status Wrap(std::string_view context) const;

  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status NotFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status AlreadyExists(std::string message) {
  return Status(StatusCode::kAlreadyExists, std::move(message));
}
inline Status FailedPrecondition(std::string message) {
  return Status(StatusCode::kFailedPrecondition, std::move(message));
}
inline Status Unavailable(std::string message) {
  return Status(StatusCode::kUnavailable, std::move(message));
}
inline Status Internal(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}
inline Status Unimplemented(std::string message) {
  return Status(StatusCode::kUnimplemented, std::move(message));
}

// Turns errno into a Status naming the syscall and the object it acted on:
// "open /run/x/state.json: No such file or directory". ENOENT maps to kNotFound,
// EEXIST to kAlreadyExists, everything else to kInternal.
Status ErrnoStatus(std::string_view syscall, std::string_view object, int err = errno);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : value_(std::move(status)) {}  // NOLINT: must not be ok

  bool ok() const { return std::holds_alternative<T>(value_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(value_);
  }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace sandbox

// Propagates a failed Status (or the Status of a failed Result) to the caller.
#define SANDBOX_RETURN_IF_ERROR(expr)              \
  do {                                             \
    const ::sandbox::Status sandbox_status_ = (expr); \
    if (!sandbox_status_.ok()) return sandbox_status_; \
  } while (0)

#define SANDBOX_CONCAT_INNER(a, b) a##b
#define SANDBOX_CONCAT(a, b) SANDBOX_CONCAT_INNER(a, b)
#define SANDBOX_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
// SANDBOX_ASSIGN_OR_RETURN(auto x, MakeX()); returns the error of a failed Result.
#define SANDBOX_ASSIGN_OR_RETURN(lhs, expr) \
  SANDBOX_ASSIGN_OR_RETURN_IMPL(SANDBOX_CONCAT(sandbox_result_, __LINE__), lhs, expr)
