// Emulated hosts for multi-process tests: one network namespace per rank, each with its own
// hostname (a UTS namespace) and one veth whose other end is a port of a bridge that lives in a
// namespace of its own, so that ranks on one machine talk over TCP as if on separate hosts, and a
// test can cut one rank's link (ip link set down) while the others stay connected. Needs root
// and iproute2; everything created is named "tutti-nl-<pid>-..." and removed when the object
// dies; namespaces left by killed earlier runs (their pid gone) are removed first.
#pragma once

#include <string>

namespace tutti::test {

class EmulatedHosts {
 public:
  // Why this machine cannot emulate hosts (not root, no ip, no netns), or "" when it can.
  static std::string unavailableReason();

  // Creates nranks hosts: "tutti-nl-<pid>-r<rank>", address 10.213.0.<rank + 1>/24 on interface
  // kIfname, all on one bridge. ok() says whether every step worked; error() which did not.
  explicit EmulatedHosts(int nranks);
  ~EmulatedHosts();  // removes every namespace (and so every veth and the bridge)
  EmulatedHosts(const EmulatedHosts&) = delete;
  EmulatedHosts& operator=(const EmulatedHosts&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // In a forked rank: moves the calling process into rank's namespace and gives it the hostname
  // hostname(rank). False (with the reason on stderr) when it cannot.
  bool enter(int rank) const;
  static std::string hostname(int rank) { return "tutti-host" + std::to_string(rank); }

  // From the parent: sets rank's interface down (its link is cut; the process lives on).
  bool cutLink(int rank) const;

  static constexpr const char* kIfname = "tnet0";

 private:
  std::string nsName(int rank) const;
  std::string bridgeNs() const;
  bool run(const std::string& command);

  std::string prefix_;
  int nranks_ = 0;
  int created_ = 0;  // rank namespaces created (the bridge's is removed too)
  std::string error_;
};

}  // namespace tutti::test
