#include "testing/small_dev_shm.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tutti::test {
namespace {

// Exit codes of the child that say the namespace could not be set up (not body's results).
constexpr int kNoNamespace = 90;
constexpr int kNoMount = 91;

}  // namespace

int runWithSmallDevShm(const std::string& size, const std::function<int()>& body,
                       std::string* why) {
  int report[2];
  if (pipe(report) != 0) {
    *why = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  pid_t child = fork();
  if (child == 0) {
    close(report[0]);
    int code = 0;
    if (unshare(CLONE_NEWNS) != 0) {
      code = kNoNamespace;
    } else if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
               mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
                     ("size=" + size).c_str()) != 0) {
      code = kNoMount;
    }
    if (code != 0) {
      const int err = errno;
      (void)!write(report[1], &err, sizeof(err));
      _exit(code);
    }
    close(report[1]);
    const int result = body();
    std::fflush(nullptr);  // _exit does not flush what body printed
    _exit(result);
  }
  close(report[1]);
  int err = 0;
  (void)!read(report[0], &err, sizeof(err));
  close(report[0]);
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child) {
    *why = std::string("fork or wait: ") + std::strerror(errno);
    return -1;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kNoNamespace) {
    *why = std::string("unshare(CLONE_NEWNS): ") + std::strerror(err) + " (needs CAP_SYS_ADMIN)";
    return -1;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kNoMount) {
    *why = "mounting a tmpfs of " + size + " on /dev/shm: " + std::strerror(err);
    return -1;
  }
  if (!WIFEXITED(status)) return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return WEXITSTATUS(status);
}

}  // namespace tutti::test
