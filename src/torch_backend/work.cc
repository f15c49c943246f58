#include "work.h"

#include <limits>
#include <memory>

namespace tutti_torch {

int toTuttiMs(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms < 0) return -1;
  return ms > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                              : static_cast<int>(ms);
}

TuttiWork::TuttiWork(int rank, c10d::OpType type, std::string name, tuttiHostEvent_t event,
                     std::chrono::milliseconds timeout, std::vector<at::Tensor> keepAlive,
                     std::vector<at::Tensor> outputs, std::function<void()> copyBack)
    : c10d::Work(rank, type),
      name_(std::move(name)),
      event_(event),
      timeout_(timeout),
      keepAlive_(std::move(keepAlive)),
      outputs_(std::move(outputs)),
      copyBack_(std::move(copyBack)),
      future_(
          c10::make_intrusive<c10::ivalue::Future>(c10::ListType::create(c10::TensorType::get()))) {
}

TuttiWork::~TuttiWork() { (void)tuttiHostEventDestroy(event_); }

void TuttiWork::settle(tuttiResult_t result, const std::string& message) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (completed_) return;
  std::exception_ptr error;
  if (result == tuttiSuccess) {
    try {
      // On the progress thread, where grad mode is on by default: a copy into a tensor that
      // requires grad is not a step autograd should see (nor refuse).
      at::NoGradGuard noGrad;
      if (copyBack_) copyBack_();
    } catch (...) {
      error = std::current_exception();
    }
  } else {
    try {
      TORCH_CHECK(false, "tutti: ", name_, " failed (", tuttiGetErrorString(result),
                  "): ", message);
    } catch (...) {
      error = std::current_exception();
    }
  }
  // The call no longer reads or writes them: let go of the buffers now, not with the Work.
  keepAlive_.clear();
  copyBack_ = nullptr;
  completed_ = true;
  exception_ = error;
  lock.unlock();
  cv_.notify_all();
  // Outside the lock: the future's callbacks may ask this Work things.
  if (error) {
    future_->setError(error);
  } else {
    future_->markCompleted(c10::IValue(outputs_));
  }
}

void TuttiWork::onCallComplete(tuttiResult_t result, const char* message, void* userData) {
  std::unique_ptr<c10::intrusive_ptr<TuttiWork>> work(
      static_cast<c10::intrusive_ptr<TuttiWork>*>(userData));
  (*work)->settle(result, message);
}

c10::intrusive_ptr<c10::ivalue::Future> TuttiWork::getFuture() { return future_; }

bool TuttiWork::isCompleted() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (completed_) return true;
  }
  const tuttiResult_t result = tuttiHostEventQuery(event_);
  if (result == tuttiInProgress) return false;
  settle(result, tuttiGetLastError(nullptr));
  return true;
}

bool TuttiWork::isSuccess() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return completed_ && !exception_;
}

std::exception_ptr TuttiWork::exception() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exception_;
}

std::vector<at::Tensor> TuttiWork::result() { return outputs_; }

bool TuttiWork::wait(std::chrono::milliseconds timeout) {
  bool completed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    completed = completed_;
  }
  if (!completed) {
    const std::chrono::milliseconds limit = timeout == kNoTimeout ? timeout_ : timeout;
    const tuttiResult_t result = tuttiHostEventSynchronize(event_, toTuttiMs(limit));
    const std::string message = tuttiGetLastError(nullptr);
    // tuttiTimeout is either this wait running out (the call goes on) or the call's own
    // inactivity timeout (it ended): only the event can tell.
    if (result == tuttiTimeout && tuttiHostEventQuery(event_) == tuttiInProgress) {
      TORCH_CHECK(false, "tutti: ", name_, " not complete after ", limit.count(),
                  " ms (the wait's timeout; the operation goes on): ", message);
    }
    settle(result, message);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (exception_) std::rethrow_exception(exception_);
  return true;
}

}  // namespace tutti_torch
