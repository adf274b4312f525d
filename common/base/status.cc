#include "common/base/status.h"

#include <cstring>

namespace sandbox {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

Status Status::Wrap(std::string_view context) const {
  if (ok()) return *this;
  std::string wrapped(context);
  wrapped += ": ";
  wrapped += message_;
  return Status(code_, std::move(wrapped));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_;
}

Status ErrnoStatus(std::string_view syscall, std::string_view object, int err) {
  std::string message(syscall);
  if (!object.empty()) {
    message += ' ';
    message += object;
  }
  message += ": ";
  message += std::strerror(err);
  StatusCode code = StatusCode::kInternal;
  if (err == ENOENT) code = StatusCode::kNotFound;
  if (err == EEXIST) code = StatusCode::kAlreadyExists;
  return Status(code, std::move(message));
}

}  // namespace sandbox
