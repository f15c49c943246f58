#include "base/status.h"

#include <cstring>

namespace tutti {

Status systemError(const std::string& what, int err) {
  char buffer[256];
  // GNU strerror_r returns the message pointer (which may not be buffer).
  const char* text = strerror_r(err, buffer, sizeof(buffer));
  return Status(tuttiSystemError, fmt::format("{}: {} (errno {})", what, text, err));
}

}  // namespace tutti
