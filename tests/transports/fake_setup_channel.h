// An in-memory setup channel: the ranks of a transport test are threads of one process, and
// their allgathers and barriers meet in shared memory instead of a bootstrap network. Lets a
// transport's setup and data path be tested without forking.
#pragma once

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "transports/setup_channel.h"

namespace tutti {

class FakeSetupGroup {
 public:
  explicit FakeSetupGroup(int nranks) : nranks_(nranks) {
    for (size_t i = 0; i < kSecretBytes; ++i) secret_[i] = static_cast<uint8_t>(i * 7 + 3);
    Status parsed = parseHostPort("127.0.0.1:0", &loopback_);
    if (!parsed.isOk()) std::abort();  // a literal address always parses
  }

  // The channel of one rank; the group must outlive it.
  std::unique_ptr<SetupChannel> channel(int rank) { return std::make_unique<Channel>(this, rank); }

 private:
  class Channel : public SetupChannel {
   public:
    Channel(FakeSetupGroup* group, int rank) : group_(group), rank_(rank) {}
    int rank() const override { return rank_; }
    int nranks() const override { return group_->nranks_; }
    const SockAddr& localAddress() const override { return group_->loopback_; }
    const uint8_t* secret() const override { return group_->secret_; }
    Status allGather(void* data, size_t bytesPerRank) override {
      return group_->allGather(rank_, data, bytesPerRank);
    }
    Status barrier() override {
      std::vector<char> flags(group_->nranks_);
      return allGather(flags.data(), 1);
    }

   private:
    FakeSetupGroup* group_;
    int rank_;
  };

  Status allGather(int rank, void* data, size_t bytesPerRank) {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t round = round_;
    if (arrived_ == 0) gathering_.assign(nranks_ * bytesPerRank, 0);
    std::memcpy(gathering_.data() + rank * bytesPerRank,
                static_cast<char*>(data) + rank * bytesPerRank, bytesPerRank);
    if (++arrived_ == nranks_) {
      // Every rank of this round copies `result_` before it can arrive in the next one.
      result_.swap(gathering_);
      arrived_ = 0;
      ++round_;
      changed_.notify_all();
    } else if (!changed_.wait_for(lock, std::chrono::seconds(20),
                                  [&] { return round_ != round; })) {
      return makeError(tuttiTimeout, "fake setup channel: rank {} waited 20 s in an allgather",
                       rank);
    }
    std::memcpy(data, result_.data(), nranks_ * bytesPerRank);
    return Status::ok();
  }

  int nranks_;
  uint8_t secret_[kSecretBytes];
  SockAddr loopback_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
  uint64_t round_ = 0;
  std::vector<char> gathering_;
  std::vector<char> result_;
};

}  // namespace tutti
