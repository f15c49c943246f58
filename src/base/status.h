// The internal result type: a tuttiResult_t code plus a message. Converted to tuttiResult_t at
// the C API boundary, where the message is kept for tuttiGetLastError.
#pragma once

#include <fmt/format.h>

#include <string>
#include <utility>

#include "tutti/tutti.h"

namespace tutti {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(tuttiResult_t code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  bool isOk() const { return code_ == tuttiSuccess; }
  tuttiResult_t code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes context ("bootstrap: ...") while keeping the code.
  Status withContext(const std::string& context) const {
    if (isOk()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  tuttiResult_t code_ = tuttiSuccess;
  std::string message_;
};

template <typename... Args>
Status makeError(tuttiResult_t code, fmt::format_string<Args...> format, Args&&... args) {
  return Status(code, fmt::format(format, std::forward<Args>(args)...));
}

// "what failed: strerror(errno)" as tuttiSystemError.
Status systemError(const std::string& what, int err);

}  // namespace tutti

#define TUTTI_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::tutti::Status tutti_status_ = (expr);          \
    if (!tutti_status_.isOk()) return tutti_status_; \
  } while (0)
