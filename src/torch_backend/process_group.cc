#include "process_group.h"

#include <Python.h>

#include <cstring>

#include "type_map.h"

namespace tutti_torch {
namespace {

// The key under which rank 0 leaves the unique id in the store torch gives the backend (a
// PrefixStore of the group, so groups do not see each other's).
constexpr const char* kUniqueIdKey = "tutti_unique_id";

// Throws with Tutti's message when a Tutti call failed (comm: whose last error, NULL: the
// calling thread's).
void check(tuttiResult_t result, const char* what, tuttiComm_t comm) {
  TORCH_CHECK(result == tuttiSuccess, "tutti: ", what, " failed (", tuttiGetErrorString(result),
              "): ", tuttiGetLastError(comm));
}

void checkCpu(const at::Tensor& tensor, const char* argument) {
  TORCH_CHECK(tensor.device().is_cpu(), "tutti: ", argument, " is on ", tensor.device(),
              "; Tutti takes CPU tensors only (its device path does not exist yet)");
}

void checkCount(size_t got, size_t want, const char* what) {
  TORCH_CHECK(got == want, "tutti: ", what, " holds ", got, " tensors; it needs ", want);
}

void checkLike(const at::Tensor& tensor, const at::Tensor& like, int64_t numel,
               const std::string& argument, const char* likeName) {
  checkCpu(tensor, argument.c_str());
  TORCH_CHECK(tensor.scalar_type() == like.scalar_type(), "tutti: ", argument, " has dtype ",
              tensor.scalar_type(), ", ", likeName, " ", like.scalar_type(), "; they must agree");
  TORCH_CHECK(tensor.numel() == numel, "tutti: ", argument, " has ", tensor.numel(),
              " elements; it needs ", numel);
}

// A tensor the call writes: the tensor itself when contiguous, else a contiguous stand-in
// (holding its values when the call reads them too) that is copied back after success.
struct Output {
  at::Tensor buffer;
  std::function<void()> copyBack;
};

Output stageOutput(const at::Tensor& tensor, bool callReadsIt) {
  if (tensor.is_contiguous()) return {tensor, nullptr};
  at::Tensor buffer =
      callReadsIt
          ? tensor.contiguous()
          : at::empty(tensor.sizes(), tensor.options().memory_format(at::MemoryFormat::Contiguous));
  return {buffer, [tensor, buffer]() mutable { tensor.copy_(buffer); }};
}

size_t count(const at::Tensor& tensor) { return static_cast<size_t>(tensor.numel()); }

}  // namespace

ProcessGroupTutti::ProcessGroupTutti(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                     int size, std::chrono::milliseconds timeout)
    : BackendBase(rank, size), timeout_(timeout) {
  tuttiUniqueId id;
  if (rank == 0) {
    check(tuttiGetUniqueId(&id), "tuttiGetUniqueId", nullptr);
    store->set(kUniqueIdKey, std::vector<uint8_t>(id.internal, id.internal + sizeof(id.internal)));
  } else {
    const std::vector<uint8_t> bytes = store->get(kUniqueIdKey);  // waits: the store's timeout
    TORCH_CHECK(bytes.size() == sizeof(id.internal), "tutti: the unique id in the store (key ",
                kUniqueIdKey, ") has ", bytes.size(), " bytes, not ", sizeof(id.internal));
    std::memcpy(id.internal, bytes.data(), sizeof(id.internal));
  }
  check(tuttiCommInitRank(&comm_, size, id, rank), "tuttiCommInitRank", nullptr);
  const tuttiResult_t created = tuttiHostStreamCreate(&stream_);
  if (created != tuttiSuccess) {
    const std::string message = tuttiGetLastError(nullptr);
    (void)tuttiCommDestroy(comm_);
    TORCH_CHECK(false, "tutti: tuttiHostStreamCreate failed: ", message);
  }
}

ProcessGroupTutti::~ProcessGroupTutti() {
  // Python drops the group holding the GIL; a call still queued may complete a future whose
  // Python callbacks take it on the progress thread: waiting for that call with the GIL held
  // would deadlock.
  PyThreadState* released =
      Py_IsInitialized() && PyGILState_Check() ? PyEval_SaveThread() : nullptr;
  const tuttiResult_t drained = tuttiHostStreamSynchronize(stream_, toTuttiMs(timeout_));
  // Abort when calls failed or still run: it ends them, so no call uses a tensor after this.
  if (drained == tuttiSuccess) {
    (void)tuttiCommDestroy(comm_);
  } else {
    (void)tuttiCommAbort(comm_);
  }
  (void)tuttiHostStreamDestroy(stream_);
  if (released != nullptr) PyEval_RestoreThread(released);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::issue(
    Launch launch, const std::function<tuttiResult_t(tuttiStream_t)>& call) {
  std::lock_guard<std::mutex> lock(issueMutex_);
  tuttiHostEvent_t event = nullptr;
  check(tuttiHostEventCreate(&event), "tuttiHostEventCreate", nullptr);
  const tuttiResult_t queued = call(reinterpret_cast<tuttiStream_t>(stream_));
  if (queued != tuttiSuccess) {
    const std::string message = tuttiGetLastError(comm_);
    (void)tuttiHostEventDestroy(event);
    TORCH_CHECK(false, "tutti: ", launch.name, " failed (", tuttiGetErrorString(queued),
                "): ", message);
  }
  // The Work owns the event from here on, whatever happens next.
  const tuttiResult_t recorded = tuttiHostEventRecord(event, stream_);
  auto work = c10::make_intrusive<TuttiWork>(
      rank_, launch.type, launch.name, event,
      launch.timeout == c10d::kUnsetTimeout ? timeout_ : launch.timeout,
      std::move(launch.keepAlive), std::move(launch.outputs), std::move(launch.copyBack));
  // The callback holds the Work until the call completed, so that its buffers outlive the call
  // even if the caller drops the Work; it settles the Work and its future on the progress thread.
  auto* holder = new c10::intrusive_ptr<TuttiWork>(work);
  const tuttiResult_t added =
      tuttiHostStreamAddCallback(stream_, &TuttiWork::onCallComplete, holder);
  if (added != tuttiSuccess) delete holder;
  // Neither fails for live handles.
  check(recorded, "tuttiHostEventRecord", nullptr);
  check(added, "tuttiHostStreamAddCallback", nullptr);
  return work;
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::allreduce(std::vector<at::Tensor>& tensors,
                                                            const c10d::AllreduceOptions& opts) {
  checkCount(tensors.size(), 1, "allreduce's tensor list");
  const at::Tensor& tensor = tensors[0];
  checkCpu(tensor, "allreduce's tensor");
  const tuttiDataType_t type = tuttiType(tensor, "allreduce's tensor");
  const tuttiRedOp_t op = tuttiOp(opts.reduceOp);
  Output out = stageOutput(tensor, /*callReadsIt=*/true);
  const at::Tensor buffer = out.buffer;
  return issue({c10d::OpType::ALLREDUCE,
                "allreduce",
                opts.timeout,
                {tensor, buffer},
                {tensor},
                std::move(out.copyBack)},
               [&](tuttiStream_t stream) {
                 return tuttiAllReduce(buffer.data_ptr(), buffer.data_ptr(), count(buffer), type,
                                       op, comm_, stream);
               });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::allgather(
    std::vector<std::vector<at::Tensor>>& outputTensors, std::vector<at::Tensor>& inputTensors,
    const c10d::AllgatherOptions& opts) {
  checkCount(inputTensors.size(), 1, "allgather's input list");
  checkCount(outputTensors.size(), 1, "allgather's output list of lists");
  const std::vector<at::Tensor> outputs = outputTensors[0];
  checkCount(outputs.size(), static_cast<size_t>(size_), "allgather's output list (one per rank)");
  checkCpu(inputTensors[0], "allgather's input tensor");
  const tuttiDataType_t type = tuttiType(inputTensors[0], "allgather's input tensor");
  const at::Tensor input = inputTensors[0].contiguous();
  const int64_t numel = input.numel();
  for (size_t r = 0; r < outputs.size(); ++r) {
    checkLike(outputs[r], input, numel, "allgather's output tensor " + std::to_string(r),
              "the input");
  }
  // Tutti gathers into one buffer; the list's tensors get their slices after success.
  const at::Tensor flat = at::empty({size_ * numel}, input.options());
  auto copyBack = [outputs, flat, numel]() mutable {
    for (size_t r = 0; r < outputs.size(); ++r) {
      outputs[r].copy_(
          flat.narrow(0, static_cast<int64_t>(r) * numel, numel).view(outputs[r].sizes()));
    }
  };
  return issue({c10d::OpType::ALLGATHER,
                "allgather",
                opts.timeout,
                {input, flat},
                outputs,
                std::move(copyBack)},
               [&](tuttiStream_t stream) {
                 return tuttiAllGather(input.data_ptr(), flat.data_ptr(), count(input), type, comm_,
                                       stream);
               });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::_allgather_base(
    at::Tensor& outputBuffer, at::Tensor& inputBuffer, const c10d::AllgatherOptions& opts) {
  checkCpu(inputBuffer, "_allgather_base's input tensor");
  const tuttiDataType_t type = tuttiType(inputBuffer, "_allgather_base's input tensor");
  checkLike(outputBuffer, inputBuffer, size_ * inputBuffer.numel(),
            "_allgather_base's output tensor (world size x the input's elements)", "the input");
  const at::Tensor input = inputBuffer.contiguous();
  Output out = stageOutput(outputBuffer, /*callReadsIt=*/false);
  const at::Tensor buffer = out.buffer;
  return issue({c10d::OpType::_ALLGATHER_BASE,
                "_allgather_base",
                opts.timeout,
                {input, buffer, outputBuffer},
                {outputBuffer},
                std::move(out.copyBack)},
               [&](tuttiStream_t stream) {
                 return tuttiAllGather(input.data_ptr(), buffer.data_ptr(), count(input), type,
                                       comm_, stream);
               });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::reduce_scatter(
    std::vector<at::Tensor>& outputTensors, std::vector<std::vector<at::Tensor>>& inputTensors,
    const c10d::ReduceScatterOptions& opts) {
  checkCount(outputTensors.size(), 1, "reduce_scatter's output list");
  checkCount(inputTensors.size(), 1, "reduce_scatter's input list of lists");
  const std::vector<at::Tensor>& inputs = inputTensors[0];
  checkCount(inputs.size(), static_cast<size_t>(size_),
             "reduce_scatter's input list (one per rank)");
  const at::Tensor& output = outputTensors[0];
  checkCpu(output, "reduce_scatter's output tensor");
  const tuttiDataType_t type = tuttiType(output, "reduce_scatter's output tensor");
  const tuttiRedOp_t op = tuttiOp(opts.reduceOp);
  const int64_t numel = output.numel();
  for (size_t r = 0; r < inputs.size(); ++r) {
    checkLike(inputs[r], output, numel, "reduce_scatter's input tensor " + std::to_string(r),
              "the output");
  }
  // The inputs side by side, as Tutti reads them (copied now: they may change after the call).
  const at::Tensor flat = at::empty({size_ * numel}, output.options());
  for (size_t r = 0; r < inputs.size(); ++r) {
    flat.narrow(0, static_cast<int64_t>(r) * numel, numel).copy_(inputs[r].reshape({-1}));
  }
  Output out = stageOutput(output, /*callReadsIt=*/false);
  const at::Tensor buffer = out.buffer;
  return issue({c10d::OpType::REDUCE_SCATTER,
                "reduce_scatter",
                opts.timeout,
                {flat, buffer, output},
                {output},
                std::move(out.copyBack)},
               [&](tuttiStream_t stream) {
                 return tuttiReduceScatter(flat.data_ptr(), buffer.data_ptr(), count(buffer), type,
                                           op, comm_, stream);
               });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::_reduce_scatter_base(
    at::Tensor& outputBuffer, at::Tensor& inputBuffer, const c10d::ReduceScatterOptions& opts) {
  checkCpu(outputBuffer, "_reduce_scatter_base's output tensor");
  const tuttiDataType_t type = tuttiType(outputBuffer, "_reduce_scatter_base's output tensor");
  const tuttiRedOp_t op = tuttiOp(opts.reduceOp);
  checkLike(inputBuffer, outputBuffer, size_ * outputBuffer.numel(),
            "_reduce_scatter_base's input tensor (world size x the output's elements)",
            "the output");
  const at::Tensor input = inputBuffer.contiguous();
  Output out = stageOutput(outputBuffer, /*callReadsIt=*/false);
  const at::Tensor buffer = out.buffer;
  return issue({c10d::OpType::_REDUCE_SCATTER_BASE,
                "_reduce_scatter_base",
                opts.timeout,
                {input, buffer, outputBuffer},
                {outputBuffer},
                std::move(out.copyBack)},
               [&](tuttiStream_t stream) {
                 return tuttiReduceScatter(input.data_ptr(), buffer.data_ptr(), count(buffer), type,
                                           op, comm_, stream);
               });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::barrier(const c10d::BarrierOptions& opts) {
  // A one-element all-reduce: it completes on a rank only once every rank has joined.
  const at::Tensor token = at::zeros({1}, at::kInt);
  return issue({c10d::OpType::BARRIER, "barrier", opts.timeout, {token}, {}, nullptr},
               [&](tuttiStream_t stream) {
                 return tuttiAllReduce(token.data_ptr(), token.data_ptr(), 1, tuttiInt32, tuttiSum,
                                       comm_, stream);
               });
}

}  // namespace tutti_torch
