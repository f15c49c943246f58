// ProcessGroupTutti: torch.distributed's backend "tutti" for CPU tensors. Each op checks its
// tensors, stages non-contiguous ones, queues one Tutti collective on the group's host stream
// (Tutti's progress thread runs it) and returns a TuttiWork at once. Adding an op is one member
// function that ends in issue().
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "torch_compat.h"
#include "tutti/tutti.h"
#include "work.h"

namespace tutti_torch {

class ProcessGroupTutti : public BackendBase {
 public:
  // Collective over the group: rank 0 makes the unique id and sets it in store, the others get
  // it there; then tuttiCommInitRank. timeout: what a Work's wait() waits by default.
  ProcessGroupTutti(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                    std::chrono::milliseconds timeout);
  // Waits for the calls still queued (the group's timeout), then destroys the communicator, or
  // aborts it when they failed or did not end.
  ~ProcessGroupTutti() override;

  const std::string getBackendName() const override { return "tutti"; }

  c10::intrusive_ptr<c10d::Work> allreduce(
      std::vector<at::Tensor>& tensors,
      const c10d::AllreduceOptions& opts = c10d::AllreduceOptions()) override;
  c10::intrusive_ptr<c10d::Work> allgather(
      std::vector<std::vector<at::Tensor>>& outputTensors, std::vector<at::Tensor>& inputTensors,
      const c10d::AllgatherOptions& opts = c10d::AllgatherOptions()) override;
  c10::intrusive_ptr<c10d::Work> _allgather_base(
      at::Tensor& outputBuffer, at::Tensor& inputBuffer,
      const c10d::AllgatherOptions& opts = c10d::AllgatherOptions()) override;
  c10::intrusive_ptr<c10d::Work> reduce_scatter(
      std::vector<at::Tensor>& outputTensors, std::vector<std::vector<at::Tensor>>& inputTensors,
      const c10d::ReduceScatterOptions& opts = c10d::ReduceScatterOptions()) override;
  c10::intrusive_ptr<c10d::Work> _reduce_scatter_base(
      at::Tensor& outputBuffer, at::Tensor& inputBuffer,
      const c10d::ReduceScatterOptions& opts = c10d::ReduceScatterOptions()) override;
  c10::intrusive_ptr<c10d::Work> barrier(
      const c10d::BarrierOptions& opts = c10d::BarrierOptions()) override;
  c10::intrusive_ptr<c10d::Work> broadcast(
      std::vector<at::Tensor>& tensors,
      const c10d::BroadcastOptions& opts = c10d::BroadcastOptions()) override;
  c10::intrusive_ptr<c10d::Work> reduce(
      std::vector<at::Tensor>& tensors,
      const c10d::ReduceOptions& opts = c10d::ReduceOptions()) override;
  c10::intrusive_ptr<c10d::Work> gather(
      std::vector<std::vector<at::Tensor>>& outputTensors, std::vector<at::Tensor>& inputTensors,
      const c10d::GatherOptions& opts = c10d::GatherOptions()) override;
  c10::intrusive_ptr<c10d::Work> scatter(
      std::vector<at::Tensor>& outputTensors, std::vector<std::vector<at::Tensor>>& inputTensors,
      const c10d::ScatterOptions& opts = c10d::ScatterOptions()) override;
  // Empty split sizes: equal parts of dim 0 (tuttiAlltoAll when both are); else a group of
  // tuttiSend/tuttiRecv, one pair per rank (an all-to-all-v).
  c10::intrusive_ptr<c10d::Work> alltoall_base(
      at::Tensor& outputBuffer, at::Tensor& inputBuffer, std::vector<int64_t>& outputSplitSizes,
      std::vector<int64_t>& inputSplitSizes,
      const c10d::AllToAllOptions& opts = c10d::AllToAllOptions()) override;
  c10::intrusive_ptr<c10d::Work> alltoall(
      std::vector<at::Tensor>& outputTensors, std::vector<at::Tensor>& inputTensors,
      const c10d::AllToAllOptions& opts = c10d::AllToAllOptions()) override;
  // Queued on the group's stream like the collectives: messages between two ranks match in the
  // order each issued them (tags other than 0 are refused).
  c10::intrusive_ptr<c10d::Work> send(std::vector<at::Tensor>& tensors, int dstRank,
                                      int tag) override;
  c10::intrusive_ptr<c10d::Work> recv(std::vector<at::Tensor>& tensors, int srcRank,
                                      int tag) override;
  // Raises NotImplementedError: Tutti matches messages by their sender.
  c10::intrusive_ptr<c10d::Work> recvAnysource(std::vector<at::Tensor>& tensors, int tag) override;

  // torch's batch_isend_irecv brackets its calls with these (torch 1.13's only use of them):
  // the sends and receives between them are recorded, each with its Work, and endCoalescing
  // queues them as one Tutti group (tuttiGroupStart/End), so that sends and receives crossing
  // between ranks run together, as NCCL's groups make them. Issued one by one, each waits for
  // the call before it: two ranks that each isend a large tensor to the other before their
  // irecv wait for the timeout. Only send and recv may be coalesced (anything else raises).
  void startCoalescing() override;
  void endCoalescing(std::vector<c10::intrusive_ptr<c10d::Work>>& reqs) override;

 private:
  // What a queued call leaves to its Work.
  struct Launch {
    c10d::OpType type;
    const char* name;
    std::chrono::milliseconds timeout;  // the op's (kUnsetTimeout: the group's)
    std::vector<at::Tensor> keepAlive;  // every tensor the call reads or writes
    std::vector<at::Tensor> outputs;    // Work::result()
    std::function<void()> copyBack;     // into non-contiguous outputs, after success
  };
  // Queues call(stream) and records an event after it; throws with Tutti's message when the call
  // is refused (bad arguments, a communicator in error).
  c10::intrusive_ptr<c10d::Work> issue(Launch launch,
                                       const std::function<tuttiResult_t(tuttiStream_t)>& call);
  // An op on one tensor in place (all-reduce, reduce, broadcast): stages it when not contiguous
  // and queues call(its data, stream).
  c10::intrusive_ptr<c10d::Work> inPlace(
      c10d::OpType type, const char* name, const at::Tensor& tensor,
      std::chrono::milliseconds timeout,
      const std::function<tuttiResult_t(void*, tuttiStream_t)>& call);
  // One point-to-point call (send: tensor to peer; else from peer into it) as an op.
  c10::intrusive_ptr<c10d::Work> peerOp(bool send, std::vector<at::Tensor>& tensors, int peer,
                                        int tag);
  // The Work of a call queued on the stream: records its event after the call and the callback
  // that settles it.
  void follow(const c10::intrusive_ptr<TuttiWork>& work, tuttiHostEvent_t event);

  // A send or receive recorded between startCoalescing and endCoalescing.
  struct CoalescedCall {
    bool send;
    at::Tensor buffer;  // contiguous; the Work keeps it alive
    int peer;
    c10::intrusive_ptr<TuttiWork> work;
    tuttiHostEvent_t event;  // the Work's, recorded at endCoalescing
  };

  tuttiComm_t comm_ = nullptr;
  tuttiHostStream_t stream_ = nullptr;
  const std::chrono::milliseconds timeout_;
  std::mutex issueMutex_;  // a communicator takes calls from one thread at a time
  bool coalescing_ = false;
  std::vector<CoalescedCall> coalesced_;
};

}  // namespace tutti_torch
