#include "core/p2p_window.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/log.h"
#include "core/comm.h"
#include "core/device_collective.h"
#include "core/p2p_mapping.h"
#include "device/device_runtime.h"
#include "device/pinned_pool.h"

namespace tutti {
namespace {

using device::Runtime;

// BarrierLaunch::mismatch: the member's index + 1, its call descriptor, this rank's.
constexpr size_t kMismatchReportBytes = device::kP2pMismatchWords * sizeof(uint64_t);

}  // namespace

bool waitForNoQueuedCalls(const std::atomic<int>& queued, int timeoutMs) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeoutMs, 1));
  while (queued.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return queued.load() == 0;
}

P2pWindow::~P2pWindow() {
  Runtime* runtime = device::activeRuntime();
  // Calls queued on streams may still read the windows: wait for them, within the timeout.
  if (!waitForQueuedCalls()) {
    TUTTI_WARN(kLogColl,
               "p2p: {} device calls still queued after {} ms: their windows stay mapped (leaked)",
               inFlight_->load(), layout_.timeoutMs);
    return;
  }
  for (size_t r = 0; r < layout_.windows.size(); ++r) {
    if (layout_.windows[r] == nullptr || static_cast<int>(r) == layout_.rank) continue;
    (void)runtime->closeImported(layout_.windows[r]);
  }
  if (own_ != nullptr) (void)runtime->freeDevice(own_);
  if (layout_.mismatch != nullptr) (void)runtime->freePinned(layout_.mismatch);
}

void P2pWindow::abort() {
  uint64_t expected = 0;
  __atomic_compare_exchange_n(layout_.error, &expected, device::kP2pAborted, false,
                              __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

void* P2pWindow::callStarted() {
  inFlight_->fetch_add(1);
  return new std::shared_ptr<std::atomic<int>>(inFlight_);
}

void P2pWindow::callDone(void* arg) {
  auto* counter = static_cast<std::shared_ptr<std::atomic<int>>*>(arg);
  (*counter)->fetch_sub(1);
  delete counter;
}

Status setupP2pWindow(tuttiComm* comm, std::unique_ptr<P2pWindow>* out, bool* usable) {
  *usable = false;
  out->reset();
  Runtime* runtime = device::activeRuntime();
  // Alike on every rank: no exchange needed to say no.
  if (runtime == nullptr || comm->nhosts != 1 || comm->nranks > device::kMaxP2pRanks) {
    return Status::ok();
  }
  const int rank = comm->rank;
  const size_t n = static_cast<size_t>(comm->nranks);
  bool all = false;
  int failedRank = -1;
  TUTTI_RETURN_IF_ERROR(allRanksAgree(comm, !comm->params.p2pDisable, &all, &failedRank));
  if (!all) {
    TUTTI_INFO(kLogInit | kLogColl,
               "p2p: off (TUTTI_P2P_DISABLE=1 on rank {}): device calls are staged", failedRank);
    return Status::ok();
  }
  std::vector<uint64_t> sizes(n, comm->params.p2pWindowBytes);
  TUTTI_RETURN_IF_ERROR(comm->bootstrap->allGather(sizes.data(), sizeof(uint64_t)));

  std::unique_ptr<P2pWindow> window(new P2pWindow());
  window->layout_.rank = rank;
  window->layout_.timeoutMs = comm->params.timeoutMs;
  window->layout_.dataBytes = static_cast<size_t>(sizes[0]);  // rank 0's, alike everywhere
  window->layout_.windows.assign(n, nullptr);
  DeviceScope scope(runtime, comm->device);

  // Allocate, clear the flags, export; and listen where the descriptor is asked for.
  Status failure = device::pinnedPool()->takeFlag(&window->layout_.error);
  void* report = nullptr;
  if (failure.isOk()) failure = runtime->allocPinned(&report, kMismatchReportBytes);
  if (failure.isOk()) {
    std::memset(report, 0, kMismatchReportBytes);
    window->layout_.mismatch = static_cast<uint64_t*>(report);
  }
  if (failure.isOk())
    failure = runtime->allocDevice(&window->own_, kP2pFlagBytes + window->layout_.dataBytes);
  if (failure.isOk()) {
    const std::vector<char> zeros(kP2pFlagBytes, 0);
    failure = runtime->copyAsync(window->own_, zeros.data(), zeros.size(), nullptr);
    if (failure.isOk()) failure = runtime->streamSynchronize(nullptr, comm->params.timeoutMs);
  }
  Status reason;
  TUTTI_RETURN_IF_ERROR(mapPeerMemory(comm, failure.isOk() ? window->own_ : nullptr,
                                      kP2pFlagBytes + window->layout_.dataBytes, "window",
                                      &window->layout_.windows, &all, &failedRank, &reason));
  if (!failure.isOk()) reason = failure;
  if (!all) {
    if (!reason.isOk()) TUTTI_WARN(kLogInit | kLogColl, "{}", reason.message());
    TUTTI_INFO(kLogInit | kLogColl,
               "p2p: off, device calls are staged: rank {} could not set up its window{}",
               failedRank, reason.isOk() ? "" : " (this rank's reason above)");
    return Status::ok();  // the window's destructor frees what was made
  }
  TUTTI_INFO(kLogInit | kLogColl,
             "p2p: rank {} mapped the windows of {} ranks ({} bytes of data each, {} runtime)",
             rank, n, window->layout_.dataBytes, runtime->name());
  *out = std::move(window);
  *usable = true;
  return Status::ok();
}

}  // namespace tutti
