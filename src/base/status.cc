#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace tutti {

Status systemError(const std::string& what, int err) {
  char buffer[256];
  // GNU strerror_r returns the message pointer (which may not be buffer).
  const char* text = strerror_r(err, buffer, sizeof(buffer));
  // Running out of descriptors is a limit the user sets, not a fault: say which and how to lift it.
  const char* remedy = "";
  if (err == EMFILE) {
    remedy =
        ": this process has no file descriptor left; raise its limit (ulimit -n, LimitNOFILE "
        "in systemd, --ulimit nofile in docker): each rank needs a few per peer";
  } else if (err == ENFILE) {
    remedy = ": the system has no file descriptor left; raise fs.file-max or close others";
  }
  return Status(tuttiSystemError, fmt::format("{}: {} (errno {}){}", what, text, err, remedy));
}

}  // namespace tutti
