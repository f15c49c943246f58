// A container's small /dev/shm, stood in for by a tmpfs of a chosen size mounted on /dev/shm in
// a private mount namespace: for the tests of what Tutti does when shared memory runs out.
#pragma once

#include <functional>
#include <string>

namespace tutti::test {

// Runs body in a forked child whose /dev/shm is a fresh tmpfs of `size` (mount's syntax: "1m")
// that only it and its children see, and returns body's result. Returns -1 with *why set when
// this process may not make the namespace or the mount (not root, no CAP_SYS_ADMIN, a seccomp
// filter): the caller skips, saying why.
int runWithSmallDevShm(const std::string& size, const std::function<int()>& body, std::string* why);

}  // namespace tutti::test
