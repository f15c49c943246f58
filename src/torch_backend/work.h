// A Work is one queued Tutti call as torch sees it: done when the host event recorded after the
// call says so (Tutti's progress thread ran it). It keeps the call's tensors alive, runs the
// copy-back into non-contiguous outputs once the call succeeded, turns a Tutti error into an
// exception carrying Tutti's message, and completes its future (what DDP waits on). A host
// callback on the group's stream settles it on the progress thread, before the event completes.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "torch_compat.h"
#include "tutti/tutti.h"

namespace tutti_torch {

// A timeout as Tutti's waits take it: milliseconds in an int, < 0 for none.
int toTuttiMs(std::chrono::milliseconds timeout);

class TuttiWork : public c10d::Work {
 public:
  // Owns event (destroyed with the Work). timeout: what wait() with no timeout of its own waits.
  TuttiWork(int rank, c10d::OpType type, std::string name, tuttiHostEvent_t event,
            std::chrono::milliseconds timeout, std::vector<at::Tensor> keepAlive,
            std::vector<at::Tensor> outputs, std::function<void()> copyBack);
  ~TuttiWork() override;

  bool isCompleted() override;
  bool isSuccess() const override;
  std::exception_ptr exception() const override;
  std::vector<at::Tensor> result() override;
  // CPU tensors: nothing to order with a device stream.
  void synchronize() override {}
  // Waits at most timeout (kNoTimeout: the op's or the group's), then copies back; throws on a
  // Tutti error or when the call is not done in time (it goes on).
  bool wait(std::chrono::milliseconds timeout = kNoTimeout) override;
  // Completed with result() (or the error) when the call completes.
  c10::intrusive_ptr<c10::ivalue::Future> getFuture() override;

  // A tuttiHostCallback_t: userData is a heap-held c10::intrusive_ptr<TuttiWork>, released here
  // (it kept the Work and its tensors alive while the call ran).
  static void onCallComplete(tuttiResult_t result, const char* message, void* userData);
  // Settles a Work whose call was never queued (its group was refused) with that error.
  void fail(tuttiResult_t result, const std::string& message) { settle(result, message); }

 private:
  // Records the call's end once: copy-back after success, the exception after failure.
  void settle(tuttiResult_t result, const std::string& message);

  const std::string name_;
  const tuttiHostEvent_t event_;
  const std::chrono::milliseconds timeout_;
  std::vector<at::Tensor> keepAlive_;
  std::vector<at::Tensor> outputs_;
  std::function<void()> copyBack_;
  const c10::intrusive_ptr<c10::ivalue::Future> future_;
};

}  // namespace tutti_torch
