// The bootstrap watch: after init every rank keeps small TCP links to the ranks at distances
// +-1, +-2, +-4, ... (watchLinks: about 2 log2(n) per rank; any one rank gone leaves the others
// connected), and a thread that mostly sleeps in poll(): it sends heartbeats over the links,
// reads what comes back and floods the first failure any rank sees to every rank, so that every
// rank reports one root cause (docs/reliability.md, "One root cause").
//
// Who failed (the rule): a link that closes without a goodbye or a verdict from its peer names
// that peer (it died); a link silent for TUTTI_HEARTBEAT_TIMEOUT_MS names its peer (stopped or
// hung), unless every link of two or more went silent at once: then the rank names itself (its
// own link is down; its peers name it too); a rank whose own call failed for a reason of its own (a
// timeout, an abort) announces that before it closes anything. A rank that merely saw a connection
// close waits for a verdict instead of making one: the neighbour that closed either announced why
// first, or died and its links say so. The first verdict a rank hears is its verdict, and it is
// passed on once. Every failed rank found, the first and any later one, floods on its own too, so
// that with several failures every survivor ends up knowing each (failedRanks).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "base/socket.h"
#include "base/status.h"
#include "exec/call_check.h"
#include "transports/setup_channel.h"

namespace tutti {

// One failure, as every rank learns it.
struct Verdict {
  int failedRank = -1;  // the rank that failed; -1: the reporter's own error names no rank
  int reporter = -1;    // the rank that saw it
  tuttiResult_t code = tuttiRemoteError;
  std::string what;      // what the reporter saw
  bool revoked = false;  // the reporter revoked the communicator (tuttiCommRevoke): no failure
};

// The ranks rank links to: (rank +- 2^k) mod nranks, without itself, sorted.
std::vector<int> watchLinks(int rank, int nranks);

// It is also the communicator's CallWitness: a call that stalls publishes its descriptor, which
// floods to every rank like a meeting, and every rank keeps the last one each rank published.
class PeerWatch : public CallWitness {
 public:
  // Called once, with the first verdict (announced here or heard), on the thread that has it,
  // without the watch's lock.
  using OnVerdict = std::function<void(const Verdict&)>;

  // Collective over the bootstrap: every rank listens, the addresses are allgathered, the lower
  // rank of each linked pair connects (with a hello). heartbeatTimeoutMs 0: no heartbeats.
  static Status create(SetupChannel& bootstrap, int heartbeatTimeoutMs, int timeoutMs,
                       OnVerdict onVerdict, std::unique_ptr<PeerWatch>* out);
  // Says goodbye to the linked ranks (their links closing next is no failure) and stops judging:
  // a rank leaving makes no verdict and passes none on (a peer that departed after it closes its
  // links while this one is still leaving; that is no failure either). Idempotent.
  void depart();
  // depart(), then stops the thread.
  ~PeerWatch();
  PeerWatch(const PeerWatch&) = delete;
  PeerWatch& operator=(const PeerWatch&) = delete;

  // Makes verdict this rank's unless it has one and tells every linked rank, before returning;
  // returns the verdict in force.
  Verdict announce(const Verdict& verdict);
  // This rank's verdict, if any.
  bool verdict(Verdict* out) const;
  // Waits at most ms for a verdict.
  bool waitVerdict(int ms, Verdict* out) const;
  // The lowest linked rank that said goodbye (destroyed its communicator), or -1.
  int departed() const;
  // The ranks this rank knows failed, sorted: its verdict's failed rank, the linked ranks whose
  // links it saw die (closed without a goodbye) or fall silent, and the failed ranks every other
  // rank found, flooded like verdicts (each rank passes each failed rank on once), so that with
  // several failures at once the survivors' lists converge to the same set. A revoke names none.
  std::vector<int> failedRanks() const;

  // A survivors' meeting (core/comm_shrink.h): the address of the root the lowest surviving rank
  // opened for its communicator's shrink number `generation`. offerMeeting tells every linked
  // rank; every rank that hears one passes it on once, so it floods to every rank still linked.
  void offerMeeting(uint32_t generation, const WireAddr& root);
  // Waits at most ms for the meeting of generation. tuttiTimeout when none came;
  // tuttiRemoteError at once when no link is open any more (no word can come).
  Status waitMeeting(uint32_t generation, int ms, WireAddr* root) const;

  // Where a rank says it is when asked: a sentence ("in call #57 all_reduce(count 8) for 1520
  // ms, waiting for rank 3 (0 of 32 bytes in)"), and the rank its running call waits for (-1:
  // none, it is in no call or awaits nothing), whom the asker asks next.
  struct Whereabouts {
    std::string text;
    int awaiting = -1;
  };
  // What this rank answers when another asks where it is (a call there timed out waiting for
  // it): called on the watch's thread, with the watch's lock held, so it must not call the watch.
  using DescribeSelf = std::function<Whereabouts()>;
  void answerQueriesWith(DescribeSelf describe);
  // Asks `peer` where it is: a query floods over the links (every rank passes each on once),
  // `peer` answers with its DescribeSelf, and the answer floods back. Waits at most ms; false
  // when no answer came (the peer is stopped, hung or cut off, or answers nothing).
  bool ask(int peer, int ms, Whereabouts* answer);

  // CallWitness.
  void publish(const CallDescriptor& call) override;
  bool differs(const CallDescriptor& mine, int* peer, CallDescriptor* theirs) const override;
  // What the watch knew (describeAwaitedRank: alive only when it is a linked rank heard from
  // within two heartbeat intervals, and no verdict or lost link names it), then the peer's own
  // answer to ask(), and down the chain: the rank that answer awaits is asked in turn, and so on
  // until a rank awaits nobody, does not answer, is known to have failed, or awaits a rank
  // already asked (a cycle). The whole chain waits at most a quarter of the timeout (50-500 ms)
  // and asks at most kChainHops ranks; a rank further down is not asked with less than
  // kShortestAskMs left. With two ranks asked or more, a summary ("the chain of waits: rank 2 ->
  // 1 -> 0 -> 3, which awaits no rank's bytes") comes before their answers.
  std::string whereIs(int peer, const CallDescriptor& mine) override;
  static constexpr int kChainHops = 8;
  static constexpr int kShortestAskMs = 20;

  struct Message;  // what links carry (peer_watch.cc)

 private:
  enum class LinkState { kOpen, kClosed, kDeparted };
  struct Link {
    int peer = -1;
    Fd fd;
    LinkState state = LinkState::kOpen;
    bool toldVerdict = false;  // the peer sent a verdict: its closing is no failure
    std::string inbox;         // bytes of a message not yet whole
    std::chrono::steady_clock::time_point lastHeard;
  };
  PeerWatch() = default;
  void run();
  void readLink(Link& link);
  void handle(Link& link, const Message& message);
  void lost(Link& link, const std::string& how);
  void checkSilence();
  // Two or more open links, all silent for half the heartbeat timeout or more: this rank is the
  // one cut off (its link is down), not every peer at once.
  bool cutOff() const;
  // Sends to every open link but skip (-1: none); heartbeats are dropped when a socket is full.
  void sendAll(const Message& message, int skip, bool droppable);
  // Records verdict if it is the first; true if it was.
  bool adopt(const Verdict& verdict);
  // adopt, and tells every open link when it was the first.
  bool adoptAndTell(const Verdict& verdict);
  // Records `failed` as a failed rank (found by reporter) if it is new and not this rank, and
  // passes it on to every open link but skip.
  void learnFailed(int failed, int reporter, int skip);
  // Passes a query or answer on to every open link but skip, the first time it comes; false for
  // one seen before.
  bool relayOnce(const Message& message, int skip);
  // whereIs's first part: what the watch knew before asking.
  std::string whatIsKnownOf(int peer, const CallDescriptor& mine) const;
  // peer is this rank, has said goodbye, or is known to have failed: there is no one to ask.
  bool cannotAnswer(int peer) const;
  // A verdict or a flooded failure names peer. With mutex_ held.
  bool knownFailed(int peer) const;
  // Records a meeting if it is new and passes it on to every open link but skip.
  void learnMeeting(uint32_t generation, const WireAddr& root, int skip);
  // Records the call `origin` published if it is new and passes it on to every open link but
  // skip.
  void learnCall(int origin, const CallDescriptor& call, int skip);
  bool anyLinkOpen() const;

  int rank_ = 0;
  int nranks_ = 0;
  int heartbeatTimeoutMs_ = 0;
  int heartbeatIntervalMs_ = 0;
  int timeoutMs_ = 0;
  OnVerdict onVerdict_;
  std::vector<Link> links_;
  Fd wake_;  // eventfd: the destructor wakes the thread
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;                 // the verdict, links' sends and states
  mutable std::condition_variable changed_;  // a verdict, a meeting or a link lost
  bool leaving_ = false;                     // depart() ran: no verdicts from here on
  bool hasVerdict_ = false;
  Verdict verdict_;
  std::vector<int> failed_;  // ranks seen dead or silent, here or by any rank that told (kFailed)
  std::vector<std::pair<uint32_t, WireAddr>> meetings_;  // (shrink number, root) heard
  std::vector<std::pair<int, CallDescriptor>> calls_;    // (rank, its last published call)
  DescribeSelf describeSelf_;
  int32_t queries_ = 0;  // asked by this rank
  // Queries and answers passed on, as (type, reporter, failedRank, query number): each floods
  // once. Only a
  // call's timeout asks, and a communicator's first failure ends it, so these stay short.
  std::vector<std::tuple<uint32_t, int, int, int32_t>> relayed_;
  std::vector<std::tuple<int, int32_t, Whereabouts>> answers_;  // (peer, query, its answer)
  std::thread thread_;
};

}  // namespace tutti
