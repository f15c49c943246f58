#include "core/peer_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <optional>

#include "base/handshake.h"
#include "base/hello_acceptor.h"
#include "base/log.h"

namespace tutti {

// Fixed size, so that a reader needs no framing beyond counting bytes. A revoke is a verdict
// that names no failed rank. A meeting carries the shrink number in code and the root's
// WireAddr in the first bytes of what.
struct PeerWatch::Message {
  enum Type : uint32_t {
    kHeartbeat = 1,
    kVerdict = 2,
    kGoodbye = 3,
    kRevoke = 4,
    kMeeting = 5,
    kCall = 6,    // reporter: the rank that published; what: its CallDescriptor
    kFailed = 7,  // failedRank: a rank found dead or silent; reporter: the rank that found it
    kQuery = 8,   // reporter: the asking rank; failedRank: the rank asked; code: query number
    kAnswer = 9,  // reporter: the rank asked; failedRank: the asking rank; code; what: answer;
                  // awaiting: the rank the one asked waits for (-1: none)
  };
  uint32_t type = kHeartbeat;
  int32_t failedRank = -1;
  int32_t reporter = -1;
  int32_t code = tuttiSuccess;
  int32_t awaiting = -1;
  char what[1004] = {0};  // a verdict's text: a timeout's message, cut at 1003 bytes
};
static_assert(sizeof(WireAddr) <= sizeof(PeerWatch::Message::what), "a meeting fits a message");
static_assert(sizeof(CallDescriptor) <= sizeof(PeerWatch::Message::what), "a call fits a message");
static_assert(sizeof(PeerWatch::Message) == 1024, "the watch's message is a wire format");

namespace {

using Clock = std::chrono::steady_clock;

long msSince(Clock::time_point then) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - then).count());
}

}  // namespace

std::vector<int> watchLinks(int rank, int nranks) {
  std::vector<int> peers;
  for (int distance = 1; distance < nranks; distance *= 2) {
    for (int peer : {(rank + distance) % nranks, (rank - distance % nranks + nranks) % nranks}) {
      if (peer != rank && std::find(peers.begin(), peers.end(), peer) == peers.end()) {
        peers.push_back(peer);
      }
    }
  }
  std::sort(peers.begin(), peers.end());
  return peers;
}

Status PeerWatch::create(SetupChannel& bootstrap, int heartbeatTimeoutMs, int timeoutMs,
                         OnVerdict onVerdict, std::unique_ptr<PeerWatch>* out) {
  std::unique_ptr<PeerWatch> watch(new PeerWatch());
  const int rank = bootstrap.rank();
  const int nranks = bootstrap.nranks();
  watch->rank_ = rank;
  watch->nranks_ = nranks;
  watch->heartbeatTimeoutMs_ = heartbeatTimeoutMs;
  // Ten heartbeats per timeout: one lost to a busy machine is no failure.
  watch->heartbeatIntervalMs_ = std::clamp(heartbeatTimeoutMs / 10, 10, 1000);
  watch->timeoutMs_ = timeoutMs;
  watch->onVerdict_ = std::move(onVerdict);
  Fd listenFd;
  SockAddr bound;
  TUTTI_RETURN_IF_ERROR(
      listenOn(bootstrap.localAddress(), &listenFd, &bound).withContext("bootstrap watch"));
  std::vector<WireAddr> addresses(nranks);
  addresses[rank] = toWire(bound);
  TUTTI_RETURN_IF_ERROR(bootstrap.allGather(addresses.data(), sizeof(WireAddr)));
  const Deadline deadline = bootstrap.deadline(timeoutMs);
  // A rank lost meanwhile ends the waits for it (transports/setup_channel.h); init ends with a
  // barrier after this, so no rank can have left on its own while another still waits here.
  const WaitCheck peersThere = [&bootstrap] { return bootstrap.checkPeers(); };
  int lowerPeers = 0;
  for (int peer : watchLinks(rank, nranks)) {
    Link link;
    link.peer = peer;
    if (peer < rank) {
      ++lowerPeers;
    } else {
      SockAddr address;
      TUTTI_RETURN_IF_ERROR(fromWire(addresses[peer], &address));
      TUTTI_RETURN_IF_ERROR(
          connectToListening(address, deadline, &link.fd, nullptr, peersThere)
              .withContext(fmt::format("bootstrap watch: reaching rank {}", peer)));
      TUTTI_RETURN_IF_ERROR(
          sendHello(link.fd.get(), makeHello(HelloKind::kBootstrapWatch, bootstrap.secret(), rank),
                    deadline));
    }
    watch->links_.push_back(std::move(link));
  }
  // The lower ranks connect here; strangers may too, and are turned away.
  HelloAcceptor acceptor(listenFd.get(), HelloKind::kBootstrapWatch, bootstrap.secret(),
                         fmt::format("bootstrap watch: rank {}", rank));
  while (lowerPeers > 0) {
    Fd conn;
    Hello hello;
    Status accepted = acceptor.next(deadline, &conn, &hello, nullptr, peersThere);
    if (!accepted.isOk()) {
      std::string missing;
      for (const Link& l : watch->links_) {
        if (l.peer < rank && !l.fd.valid()) {
          missing += (missing.empty() ? "" : ", ") + std::to_string(l.peer);
        }
      }
      return accepted.withContext(
          fmt::format("bootstrap watch: waiting for rank(s) {} to connect", missing));
    }
    auto link = std::find_if(watch->links_.begin(), watch->links_.end(),
                             [&](const Link& l) { return l.peer == hello.rank; });
    if (hello.rank >= rank || link == watch->links_.end() || link->fd.valid()) {
      acceptor.reject(
          std::move(conn),
          makeError(tuttiRemoteError, "rank {} is not a watch link of rank {}", hello.rank, rank));
      continue;
    }
    link->fd = std::move(conn);
    --lowerPeers;
  }
  for (Link& link : watch->links_) {
    TUTTI_RETURN_IF_ERROR(setNonBlocking(link.fd.get()));
    link.lastHeard = Clock::now();
  }
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return makeError(tuttiSystemError, "bootstrap watch: eventfd: {}", strerror(errno));
  watch->wake_ = Fd(wake);
  PeerWatch* self = watch.get();
  watch->thread_ = std::thread([self] { self->run(); });
  *out = std::move(watch);
  return Status::ok();
}

void PeerWatch::depart() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (leaving_) return;
  leaving_ = true;
  Message goodbye;
  goodbye.type = Message::kGoodbye;
  sendAll(goodbye, -1, /*droppable=*/false);
  // Links judged lost too, once and without waiting: a peer judged silent that runs again must
  // not take this rank's leaving for a death and tell every rank that it failed.
  for (Link& link : links_) {
    if (link.state != LinkState::kClosed || !link.fd.valid()) continue;
    (void)send(link.fd.get(), &goodbye, sizeof(goodbye), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

PeerWatch::~PeerWatch() {
  depart();
  stop_.store(true);
  const uint64_t one = 1;
  if (write(wake_.get(), &one, sizeof(one)) < 0) {
    // The thread still sees stop_ within one heartbeat interval or poll slice.
  }
  if (thread_.joinable()) thread_.join();
}

void PeerWatch::sendAll(const Message& message, int skip, bool droppable) {
  for (Link& link : links_) {
    if (link.state != LinkState::kOpen || link.peer == skip) continue;
    ssize_t sent = send(link.fd.get(), &message, sizeof(message), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent == static_cast<ssize_t>(sizeof(message))) continue;
    if (sent < 0 && (errno != EAGAIN || droppable)) continue;  // the reader sees a broken link
    // A full socket (a stopped peer) takes the rest of a verdict or goodbye within a bound.
    const size_t done = sent > 0 ? static_cast<size_t>(sent) : 0;
    (void)tutti::sendAll(link.fd.get(), reinterpret_cast<const char*>(&message) + done,
                         sizeof(message) - done, Deadline::afterMs(200));
  }
}

bool PeerWatch::adopt(const Verdict& verdict) {
  if (hasVerdict_ || leaving_) return false;
  hasVerdict_ = true;
  verdict_ = verdict;
  changed_.notify_all();
  return true;
}

bool PeerWatch::adoptAndTell(const Verdict& verdict) {
  if (!adopt(verdict)) return false;
  Message message;
  message.type = verdict.revoked ? Message::kRevoke : Message::kVerdict;
  message.failedRank = verdict.failedRank;
  message.reporter = verdict.reporter;
  message.code = verdict.code;
  std::snprintf(message.what, sizeof(message.what), "%s", verdict.what.c_str());
  sendAll(message, -1, /*droppable=*/false);
  return true;
}

Verdict PeerWatch::announce(const Verdict& verdict) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool first = adoptAndTell(verdict);
  if (!verdict.revoked) learnFailed(verdict.failedRank, verdict.reporter, -1);
  const Verdict inForce = verdict_;
  lock.unlock();
  if (first) onVerdict_(inForce);
  return inForce;
}

bool PeerWatch::verdict(Verdict* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (hasVerdict_) *out = verdict_;
  return hasVerdict_;
}

bool PeerWatch::waitVerdict(int ms, Verdict* out) const {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return hasVerdict_; });
  if (hasVerdict_) *out = verdict_;
  return hasVerdict_;
}

std::vector<int> PeerWatch::failedRanks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int> failed = failed_;
  if (hasVerdict_ && !verdict_.revoked && verdict_.failedRank >= 0) {
    failed.push_back(verdict_.failedRank);
  }
  std::sort(failed.begin(), failed.end());
  failed.erase(std::unique(failed.begin(), failed.end()), failed.end());
  return failed;
}

void PeerWatch::learnFailed(int failed, int reporter, int skip) {
  // A rank told that it failed itself (stopped, now running again) is not its own failed rank.
  if (leaving_ || failed < 0 || failed == rank_) return;
  if (std::find(failed_.begin(), failed_.end(), failed) != failed_.end()) return;
  failed_.push_back(failed);
  changed_.notify_all();
  Message message;
  message.type = Message::kFailed;
  message.failedRank = failed;
  message.reporter = reporter;
  sendAll(message, skip, /*droppable=*/false);
}

void PeerWatch::learnMeeting(uint32_t generation, const WireAddr& root, int skip) {
  for (const auto& known : meetings_) {
    if (known.first == generation) return;
  }
  meetings_.emplace_back(generation, root);
  changed_.notify_all();
  Message message;
  message.type = Message::kMeeting;
  message.reporter = rank_;
  message.code = static_cast<int32_t>(generation);
  std::memcpy(message.what, &root, sizeof(root));
  sendAll(message, skip, /*droppable=*/false);
}

void PeerWatch::offerMeeting(uint32_t generation, const WireAddr& root) {
  std::lock_guard<std::mutex> lock(mutex_);
  learnMeeting(generation, root, -1);
}

void PeerWatch::learnCall(int origin, const CallDescriptor& call, int skip) {
  auto known = std::find_if(calls_.begin(), calls_.end(),
                            [&](const auto& entry) { return entry.first == origin; });
  if (known != calls_.end()) {
    if (std::memcmp(&known->second, &call, sizeof(call)) == 0) return;  // passed on already
    known->second = call;
  } else {
    calls_.emplace_back(origin, call);
  }
  Message message;
  message.type = Message::kCall;
  message.reporter = origin;
  std::memcpy(message.what, &call, sizeof(call));
  sendAll(message, skip, /*droppable=*/false);
}

void PeerWatch::publish(const CallDescriptor& call) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (leaving_) return;
  learnCall(rank_, call, -1);
}

bool PeerWatch::differs(const CallDescriptor& mine, int* peer, CallDescriptor* theirs) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [origin, call] : calls_) {
    if (origin == rank_ || call.sequence != mine.sequence) continue;
    if (compareCalls(mine, rank_, call, origin).isOk()) continue;
    *peer = origin;
    *theirs = call;
    return true;
  }
  return false;
}

void PeerWatch::answerQueriesWith(DescribeSelf describe) {
  std::lock_guard<std::mutex> lock(mutex_);
  describeSelf_ = std::move(describe);
}

bool PeerWatch::relayOnce(const Message& message, int skip) {
  // An answer's number is its asker's: two askers' first answers differ by the asker only.
  const std::tuple<uint32_t, int, int, int32_t> key{message.type, message.reporter,
                                                    message.failedRank, message.code};
  if (std::find(relayed_.begin(), relayed_.end(), key) != relayed_.end()) return false;
  relayed_.push_back(key);
  sendAll(message, skip, /*droppable=*/false);
  return true;
}

bool PeerWatch::ask(int peer, int ms, Whereabouts* answer) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (leaving_ || !anyLinkOpen()) return false;
  Message query;
  query.type = Message::kQuery;
  query.reporter = rank_;
  query.failedRank = peer;
  query.code = ++queries_;
  relayOnce(query, -1);
  const int32_t number = query.code;
  bool found = false;
  auto answered = [&] {
    for (const auto& [from, id, whereabouts] : answers_) {
      if (from == peer && id == number) {
        *answer = whereabouts;
        found = true;
      }
    }
    return found || leaving_;
  };
  changed_.wait_for(lock, std::chrono::milliseconds(ms), answered);
  return found;
}

bool PeerWatch::knownFailed(int peer) const {
  return (hasVerdict_ && verdict_.failedRank == peer) ||
         std::find(failed_.begin(), failed_.end(), peer) != failed_.end();
}

bool PeerWatch::cannotAnswer(int peer) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool departed = std::any_of(links_.begin(), links_.end(), [peer](const Link& link) {
    return link.peer == peer && link.state == LinkState::kDeparted;
  });
  return peer == rank_ || departed || knownFailed(peer);
}

std::string PeerWatch::whereIs(int peer, const CallDescriptor& mine) {
  const std::string known = whatIsKnownOf(peer, mine);
  // Asked in turn down the chain of waits, each rank says whom it waits for: the end of the
  // chain (a rank in no call, or one that does not answer) is the rank that holds everyone up.
  const int budgetMs = std::clamp(timeoutMs_ / 4, 50, 500);
  const auto start = Clock::now();
  std::vector<int> chain{rank_};  // the asker, then each rank asked, then a rank seen again
  std::string answers;            // what each rank asked said, in order
  std::string end;                // how the chain ended
  int next = peer;
  int hop = 0;
  for (; next >= 0 && hop < kChainHops; ++hop) {
    const int previous = chain.back();
    const bool seen = std::find(chain.begin(), chain.end(), next) != chain.end();
    if (hop > 0 && seen) {
      chain.push_back(next);
      end = next == rank_ ? "back to this rank" : "a cycle of waits";
      answers += next == rank_ ? fmt::format("; rank {} waits for this rank", previous)
                               : fmt::format("; rank {} waits for rank {}, asked before: {}",
                                             previous, next, end);
      break;
    }
    if (cannotAnswer(next)) {
      // The first rank's state is in `known` already; a later one ends the chain here.
      if (hop > 0) {
        chain.push_back(next);
        end = "which has failed or left";
        answers += fmt::format("; rank {} waits for rank {}, {}", previous, next, end);
      }
      break;
    }
    chain.push_back(next);
    const long leftMs = budgetMs - msSince(start);
    if (hop > 0 && leftMs < kShortestAskMs) {
      end = "not asked in time";
      answers +=
          fmt::format("; rank {} was not asked: the {} ms for asking were spent", next, budgetMs);
      break;
    }
    const auto asked = Clock::now();
    Whereabouts answer;
    if (!ask(next, static_cast<int>(leftMs), &answer)) {
      end = "which did not answer";
      answers += hop == 0 ? fmt::format(
                                "; asked now, rank {} did not answer within {} ms (stopped or "
                                "hung, or cut off from the watch)",
                                next, budgetMs)
                          : fmt::format(
                                "; asked in turn, rank {} did not answer within the {} ms left "
                                "(stopped or hung, cut off from the watch, or slow to answer)",
                                next, leftMs);
      break;
    }
    answers += fmt::format("; asked {}, rank {} answered in {} ms: it is {}",
                           hop == 0 ? "now" : "in turn", next, msSince(asked), answer.text);
    next = answer.awaiting;
    if (next < 0) end = "which awaits no rank's bytes";
  }
  if (next >= 0 && hop == kChainHops) {
    end = fmt::format("and on: followed for {} ranks", kChainHops);
    answers += fmt::format("; {} ranks asked, the chain was followed no further", kChainHops);
  }
  if (chain.size() < 3) return known + answers;
  // Where the chain ends, before the answers: a verdict carries only a message's first 1 KB.
  std::string ranks = fmt::format("rank {}", chain[0]);
  for (size_t i = 1; i < chain.size(); ++i) ranks += fmt::format(" -> {}", chain[i]);
  return fmt::format("{}; the chain of waits: {}, {}{}", known, ranks, end, answers);
}

std::string PeerWatch::whatIsKnownOf(int peer, const CallDescriptor& mine) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const CallDescriptor* published = nullptr;
  for (const auto& [origin, call] : calls_) {
    if (origin == peer) published = &call;
  }
  const bool named = knownFailed(peer);
  long heardMsAgo = -1;
  for (const Link& link : links_) {
    if (link.peer != peer || link.state != LinkState::kOpen || named || heartbeatTimeoutMs_ <= 0) {
      continue;
    }
    const long since = msSince(link.lastHeard);
    if (since <= 2L * heartbeatIntervalMs_) heardMsAgo = since;
  }
  return describeAwaitedRank(peer, mine, published, heardMsAgo);
}

bool PeerWatch::anyLinkOpen() const {
  return std::any_of(links_.begin(), links_.end(),
                     [](const Link& link) { return link.state == LinkState::kOpen; });
}

Status PeerWatch::waitMeeting(uint32_t generation, int ms, WireAddr* root) const {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::pair<uint32_t, WireAddr>* found = nullptr;
  auto heard = [&] {
    for (const auto& known : meetings_) {
      if (known.first == generation) found = &known;
    }
    return found != nullptr || !anyLinkOpen();
  };
  changed_.wait_for(lock, std::chrono::milliseconds(ms), heard);
  if (found != nullptr) {
    *root = found->second;
    return Status::ok();
  }
  if (!anyLinkOpen()) {
    return makeError(tuttiRemoteError,
                     "every bootstrap watch link of rank {} is closed: no other rank can reach it",
                     rank_);
  }
  return makeError(tuttiTimeout, "no meeting address within {} ms", ms);
}

int PeerWatch::departed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Link& link : links_) {
    if (link.state == LinkState::kDeparted) return link.peer;
  }
  return -1;
}

void PeerWatch::lost(Link& link, const std::string& how) {
  // A peer that told us of a failure may end because of it: then it is not the root cause, and
  // the verdict stays the one it told. It is gone all the same, so a shrink must leave it out.
  if (!link.toldVerdict) {
    Verdict verdict;
    verdict.failedRank = link.peer;
    verdict.reporter = rank_;
    verdict.code = tuttiRemoteError;
    verdict.what = how;
    adoptAndTell(verdict);  // the failed peer too: a stopped one reads it when it runs again
  }
  link.state = LinkState::kClosed;  // before the flood: the lost peer needs no word of itself
  learnFailed(link.peer, rank_, -1);
  changed_.notify_all();
}

void PeerWatch::handle(Link& link, const Message& message) {
  link.lastHeard = Clock::now();
  if (message.type == Message::kGoodbye) {
    link.state = LinkState::kDeparted;
    return;
  }
  if (message.type == Message::kMeeting) {
    if (leaving_) return;
    WireAddr root;
    std::memcpy(&root, message.what, sizeof(root));
    learnMeeting(static_cast<uint32_t>(message.code), root, link.peer);
    return;
  }
  if (message.type == Message::kCall) {
    if (leaving_) return;
    CallDescriptor call;
    std::memcpy(&call, message.what, sizeof(call));
    learnCall(message.reporter, call, link.peer);
    return;
  }
  if (message.type == Message::kFailed) {
    learnFailed(message.failedRank, message.reporter, link.peer);
    return;
  }
  if (message.type == Message::kQuery || message.type == Message::kAnswer) {
    if (leaving_ || !relayOnce(message, link.peer)) return;
    if (message.type == Message::kAnswer && message.failedRank == rank_) {
      answers_.emplace_back(
          message.reporter, message.code,
          Whereabouts{std::string(message.what, strnlen(message.what, sizeof(message.what))),
                      message.awaiting >= 0 && message.awaiting < nranks_ ? message.awaiting : -1});
      changed_.notify_all();
    }
    if (message.type == Message::kQuery && message.failedRank == rank_ && describeSelf_) {
      Message answer;
      answer.type = Message::kAnswer;
      answer.reporter = rank_;
      answer.failedRank = message.reporter;
      answer.code = message.code;
      const Whereabouts self = describeSelf_();
      std::snprintf(answer.what, sizeof(answer.what), "%s", self.text.c_str());
      answer.awaiting = self.awaiting;
      relayOnce(answer, -1);
    }
    return;
  }
  if (message.type != Message::kVerdict && message.type != Message::kRevoke) return;
  link.toldVerdict = true;
  Verdict verdict;
  verdict.failedRank = message.failedRank;
  verdict.reporter = message.reporter;
  verdict.code = static_cast<tuttiResult_t>(message.code);
  verdict.what.assign(message.what, strnlen(message.what, sizeof(message.what)));
  verdict.revoked = message.type == Message::kRevoke;
  if (adopt(verdict)) sendAll(message, link.peer, /*droppable=*/false);
  // A verdict heard after this rank's own names a failure all the same: with several at once,
  // every rank must end up knowing each (tuttiCommGetFailedRanks, for the shrink's list).
  if (!verdict.revoked) learnFailed(verdict.failedRank, verdict.reporter, -1);
}

void PeerWatch::readLink(Link& link) {
  char buffer[4096];
  while (link.state == LinkState::kOpen) {
    ssize_t got = recv(link.fd.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
    if (got > 0) {
      link.inbox.append(buffer, static_cast<size_t>(got));
      while (link.inbox.size() >= sizeof(Message)) {
        Message message;
        std::memcpy(&message, link.inbox.data(), sizeof(message));
        link.inbox.erase(0, sizeof(message));
        handle(link, message);
      }
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // A process that dies with heartbeats unread resets its connections instead of closing them.
    lost(link, got == 0 || errno == ECONNRESET
                   ? "its bootstrap connection closed without a word: the process died (killed, "
                     "crashed, or exited without destroying its communicator) or its host went "
                     "down"
                   : fmt::format("its bootstrap connection failed ({})", strerror(errno)));
  }
}

bool PeerWatch::cutOff() const {
  int open = 0;
  for (const Link& link : links_) {
    if (link.state != LinkState::kOpen) continue;
    ++open;
    if (msSince(link.lastHeard) <= heartbeatTimeoutMs_ / 2) return false;
  }
  return open >= 2;
}

void PeerWatch::checkSilence() {
  // Judged after a verdict too: a second rank that stops is a failed rank to leave out of a
  // shrink, though not the root cause any more.
  if (heartbeatTimeoutMs_ <= 0 || leaving_) return;
  for (Link& link : links_) {
    if (link.state != LinkState::kOpen) continue;
    const long silentMs = msSince(link.lastHeard);
    if (silentMs <= heartbeatTimeoutMs_) continue;
    if (cutOff()) {
      if (hasVerdict_) return;
      // Peers that did not fail together went silent together: the link they share, this
      // rank's own, is the likely cause. Naming one of them would blame a rank that is fine.
      adoptAndTell(Verdict{rank_, rank_, tuttiRemoteError,
                           fmt::format("every rank it watches went silent at once (no heartbeat "
                                       "for {} ms, TUTTI_HEARTBEAT_TIMEOUT_MS={}): its own "
                                       "network link is likely down",
                                       silentMs, heartbeatTimeoutMs_)});
      return;
    }
    lost(link, fmt::format("it sent no heartbeat for {} ms (TUTTI_HEARTBEAT_TIMEOUT_MS={}): the "
                           "process is stopped or hung, or its host is unreachable",
                           silentMs, heartbeatTimeoutMs_));
    return;
  }
}

void PeerWatch::run() {
  Message heartbeat;
  auto nextBeat = Clock::now();
  std::vector<pollfd> fds;
  const int waitMs = heartbeatTimeoutMs_ > 0 ? heartbeatIntervalMs_ : 1000;
  while (!stop_.load()) {
    // Memory that runs out must not end this thread, and with it the process: the pass is
    // retried after a pause (heartbeats missed meanwhile make the peers declare this rank failed,
    // as they should if memory stays gone).
    try {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (heartbeatTimeoutMs_ > 0 && Clock::now() >= nextBeat) {
          sendAll(heartbeat, -1, /*droppable=*/true);
          nextBeat = Clock::now() + std::chrono::milliseconds(heartbeatIntervalMs_);
        }
        fds.assign(1, pollfd{wake_.get(), POLLIN, 0});
        for (const Link& link : links_) {
          fds.push_back(pollfd{link.state == LinkState::kOpen ? link.fd.get() : -1, POLLIN, 0});
        }
      }
      // Sleeps until a link speaks or the next heartbeat is due: no spinning.
      if (::poll(fds.data(), fds.size(), waitMs) < 0 && errno != EINTR) {
        TUTTI_WARN(kLogBootstrap, "bootstrap watch: poll: {}", strerror(errno));
        return;
      }
      std::unique_lock<std::mutex> lock(mutex_);
      const bool hadVerdict = hasVerdict_;
      for (size_t i = 0; i < links_.size(); ++i) {
        if (fds[i + 1].revents != 0) readLink(links_[i]);
      }
      checkSilence();
      if (!hadVerdict && hasVerdict_) {
        const Verdict found = verdict_;
        lock.unlock();
        onVerdict_(found);
      }
    } catch (const std::bad_alloc&) {
      ::poll(nullptr, 0, std::min(waitMs, 100));
    }
  }
}

}  // namespace tutti
