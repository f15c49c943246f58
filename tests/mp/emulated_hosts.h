// Emulated hosts for multi-process tests: one network namespace per rank, each with its own
// hostname (a UTS namespace) and one veth per rail whose other end is a port of that rail's
// bridge, which lives in a namespace of its own, so that ranks on one machine talk over TCP as if
// on separate hosts (with several NICs each, one per rail network, as in rail-optimised
// clusters), and a test can cut one rank's link (ip link set down) while the others stay
// connected. Needs root
// and iproute2; everything created is named "tutti-nl-<pid>-..." and removed when the object
// dies; namespaces left by killed earlier runs (their pid gone) are removed first.
#pragma once

#include <atomic>
#include <string>

#include "tutti/tutti.h"

namespace tutti::test {

// A unique id that rank 0 makes inside its namespace (where its bootstrap root must listen) and
// hands to the other ranks through memory the test maps before it forks them.
struct IdHandout {
  std::atomic<int> ready{0};
  tuttiUniqueId id{};
};

// In a rank that entered its host: rank 0 makes the id and publishes it, the others wait for it
// (20 s at most). False, with the reason on stderr, when the id could not be had.
bool takeUniqueId(int rank, IdHandout* handout, tuttiUniqueId* id);

class EmulatedHosts {
 public:
  // Why this machine cannot emulate hosts (not root, no ip, no netns), or "" when it can.
  static std::string unavailableReason();

  // Creates nranks hosts: "tutti-nl-<pid>-r<rank>", with address 10.213.<r>.<rank + 1>/24 on
  // interface ifname(r) for each rail r (ifname(0) is kIfname), each rail on a bridge of its
  // own. ok() says whether every step worked; error() which did not.
  explicit EmulatedHosts(int nranks, int rails = 1);
  ~EmulatedHosts();  // removes every namespace (and so every veth and the bridge)
  EmulatedHosts(const EmulatedHosts&) = delete;
  EmulatedHosts& operator=(const EmulatedHosts&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // In a forked rank: moves the calling process into rank's namespace and gives it the hostname
  // hostname(rank). False (with the reason on stderr) when it cannot.
  bool enter(int rank) const;
  static std::string hostname(int rank) { return "tutti-host" + std::to_string(rank); }

  // From the parent: sets rank's interface of `rail` down (its link is cut; the process lives on).
  bool cutLink(int rank, int rail = 0) const;
  // From the parent: sets it up again (the link comes back; its address and route return).
  bool restoreLink(int rank, int rail = 0) const;
  // From the parent: limits what rank's interface of `rail` sends to `rate` (tc's syntax, e.g.
  // "200mbit") with a token bucket filter.
  bool limitRate(int rank, int rail, const std::string& rate) const;
  // From the parent: removes that limit.
  bool unlimitRate(int rank, int rail) const;
  // Why random packet loss cannot be made here (no nft), or "" when it can.
  static std::string lossUnavailableReason();
  // From the parent: drops each packet rank's host sends or receives with probability
  // percent/100 (an nftables table "tutti_loss" in rank's namespace, `numgen random`: tc's netem
  // and gact actions are not in this kernel).
  bool loseRandomly(int rank, int percent) const;
  // From the parent: removes that table; returns the packets it dropped (-1 when unreadable).
  long long stopLosing(int rank) const;
  // Bytes rank's interface of `rail` has sent so far (-1 when unreadable).
  long long sentBytes(int rank, int rail) const;

  static constexpr const char* kIfname = "tnet0";
  static std::string ifname(int rail) { return "tnet" + std::to_string(rail); }

 private:
  std::string nsName(int rank) const;
  std::string bridgeNs() const;
  bool run(const std::string& command);

  std::string prefix_;
  int nranks_ = 0;
  int rails_ = 1;
  int created_ = 0;  // rank namespaces created (the bridge's is removed too)
  std::string error_;
};

}  // namespace tutti::test
