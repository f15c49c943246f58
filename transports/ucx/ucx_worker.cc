#include "transports/ucx/ucx_worker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

namespace tutti {

Status UcxWorker::create(const UcxApi* api, int expectedPeers, std::shared_ptr<UcxWorker>* out) {
  std::shared_ptr<UcxWorker> worker(new UcxWorker());
  worker->api_ = api;
  std::random_device random;
  worker->id_ = (static_cast<uint64_t>(random()) << 32) ^ random();
  ucp_config_t* config = nullptr;
  ucs_status_t status = api->configRead(nullptr, nullptr, &config);
  if (status != UCS_OK) {
    return makeError(tuttiSystemError, "ucx transport: reading UCX's configuration (UCX_*): {}",
                     api->describe(status));
  }
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_ESTIMATED_NUM_EPS;
  // RMA and 64-bit atomics for one-sided puts and their signals; a UCX that offers neither
  // (no transport that can emulate them) still gives two-sided messages.
  params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP | UCP_FEATURE_RMA | UCP_FEATURE_AMO64;
  params.estimated_num_eps = static_cast<size_t>(std::max(expectedPeers, 1));
  status = api->initVersion(UCP_API_MAJOR, UCP_API_MINOR, &params, config, &worker->context_);
  worker->hasPut_ = status == UCS_OK;
  if (status != UCS_OK) {
    params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP;
    status = api->initVersion(UCP_API_MAJOR, UCP_API_MINOR, &params, config, &worker->context_);
  }
  api->configRelease(config);
  if (status != UCS_OK) {
    return makeError(tuttiSystemError, "ucx transport: ucp_init: {}", api->describe(status));
  }
  ucp_worker_params_t workerParams{};
  workerParams.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  // One thread at a time (the calling thread or the communicator's progress thread), but not
  // always the same one.
  workerParams.thread_mode = UCS_THREAD_MODE_SERIALIZED;
  status = api->workerCreate(worker->context_, &workerParams, &worker->worker_);
  if (status != UCS_OK) {
    return makeError(tuttiSystemError, "ucx transport: ucp_worker_create: {}",
                     api->describe(status));
  }
  worker->wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (worker->wakeFd_ < 0) return systemError("ucx transport: eventfd", errno);
  status = api->workerGetEfd(worker->worker_, &worker->eventFd_);
  if (status != UCS_OK) {
    return makeError(tuttiSystemError, "ucx transport: ucp_worker_get_efd: {}",
                     api->describe(status));
  }
  *out = std::move(worker);
  return Status::ok();
}

namespace {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The workers whose progress thread runs. A process that exits without destroying its
// communicators must not have those threads inside UCX while UCX's own exit-time destructors
// run: an atexit handler stops them first.
struct LiveWorkers {
  std::mutex mutex;
  std::vector<UcxWorker*> workers;
};

LiveWorkers& liveWorkers() {
  static LiveWorkers live;
  static std::once_flag registered;
  std::call_once(registered, [] {
    std::atexit([] {
      LiveWorkers& all = liveWorkers();
      std::lock_guard<std::mutex> hold(all.mutex);
      for (UcxWorker* worker : all.workers) worker->stopProgressThread();
    });
  });
  return live;
}

}  // namespace

void UcxWorker::calledNow() { lastCallNs_.store(nowNs(), std::memory_order_relaxed); }

void UcxWorker::wake() {
  const uint64_t one = 1;
  ssize_t written = ::write(wakeFd_, &one, sizeof(one));
  (void)written;  // full only when woken already
}

void UcxWorker::drainWake() {
  uint64_t count = 0;
  ssize_t got = ::read(wakeFd_, &count, sizeof(count));
  (void)got;  // EAGAIN: nothing to drain
}

void UcxWorker::startProgressThread() {
  stopFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  LiveWorkers& live = liveWorkers();
  std::lock_guard<std::mutex> hold(live.mutex);
  thread_ = std::thread([this] { progressWhileIdle(); });
  live.workers.push_back(this);
}

void UcxWorker::stopProgressThread() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  ssize_t written = ::write(stopFd_, &one, sizeof(one));
  (void)written;
  thread_.join();
}

void UcxWorker::progressWhileIdle() {
  while (!stop_.load(std::memory_order_acquire)) {
    const int64_t sinceCallUs = (nowNs() - lastCallNs_.load(std::memory_order_relaxed)) / 1000;
    if (sinceCallUs < kIdleUs) {
      // A call is progressing the worker itself.
      std::this_thread::sleep_for(std::chrono::microseconds(kIdleUs - sinceCallUs));
      continue;
    }
    ucs_status_t armed = UCS_OK;
    {
      std::lock_guard<std::mutex> hold(mutex_);
      const uint64_t before = completions_;
      // Bounded, so that a peer that keeps sending cannot hold the lock from this rank's calls.
      for (int round = 0; round < 64 && api_->workerProgress(worker_) != 0; ++round) {
      }
      // It consumed events a rank may be asleep on: wake it to reap what completed.
      if (completions_ != before) wake();
      armed = api_->workerArm(worker_);
    }
    if (armed == UCS_ERR_BUSY) continue;  // events came meanwhile
    pollfd fds[2] = {{eventFd_, POLLIN, 0}, {stopFd_, POLLIN, 0}};
    ::poll(fds, 2, 100);
  }
}

UcxWorker::~UcxWorker() {
  if (stopFd_ >= 0) {
    LiveWorkers& live = liveWorkers();
    std::lock_guard<std::mutex> hold(live.mutex);
    stopProgressThread();
    live.workers.erase(std::remove(live.workers.begin(), live.workers.end(), this),
                       live.workers.end());
  }
  if (stopFd_ >= 0) ::close(stopFd_);
  if (wakeFd_ >= 0) ::close(wakeFd_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kCloseMs);
  while (!closing_.empty() && worker_ != nullptr) {
    api_->workerProgress(worker_);
    for (auto it = closing_.begin(); it != closing_.end();) {
      if (api_->requestCheckStatus(*it) == UCS_INPROGRESS) {
        ++it;
        continue;
      }
      api_->requestFree(*it);
      it = closing_.erase(it);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      // A peer that neither answers nor fails: its endpoints go with the worker.
      for (void* request : closing_) api_->requestFree(request);
      break;
    }
    if (!closing_.empty()) std::this_thread::yield();
  }
  if (worker_ != nullptr) api_->workerDestroy(worker_);
  if (context_ != nullptr) api_->cleanup(context_);
}

std::atomic<uint64_t>* UcxWorker::allocateSignals(size_t words) {
  signals_ = std::make_unique<std::atomic<uint64_t>[]>(words);
  for (size_t i = 0; i < words; ++i) signals_[i].store(0, std::memory_order_relaxed);
  return signals_.get();
}

Status UcxWorker::address(std::vector<uint8_t>* out) const {
  ucp_address_t* address = nullptr;
  size_t length = 0;
  ucs_status_t status = api_->workerGetAddress(worker_, &address, &length);
  if (status != UCS_OK) {
    return makeError(tuttiSystemError, "ucx transport: ucp_worker_get_address: {}",
                     api_->describe(status));
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(address);
  out->assign(bytes, bytes + length);
  api_->workerReleaseAddress(worker_, address);
  return Status::ok();
}

UcxEndpointState* UcxWorker::newEndpointState() {
  endpoints_.push_back(std::make_unique<UcxEndpointState>());
  endpoints_.back()->worker = this;
  return endpoints_.back().get();
}

void UcxWorker::close(ucp_ep_h ep, bool flush) {
  ucp_request_param_t param{};
  if (!flush) {
    param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    param.flags = UCP_EP_CLOSE_FLAG_FORCE;
  }
  ucs_status_ptr_t request = api_->epCloseNbx(ep, &param);
  if (UCS_PTR_IS_PTR(request)) closing_.push_back(request);
}

}  // namespace tutti
