#include "process_group.h"

#include <Python.h>

#include <cstring>
#include <limits>

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
  TORCH_CHECK(
      tensor.device().is_cpu(), "tutti: ", argument, " is on ", tensor.device(),
      "; tutti_torch takes CPU tensors only: its CUDA-tensor path is not written yet (no "
      "CUDA build of torch to build it against); Tutti's C API itself takes device buffers");
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

// The one CPU tensor of an op that takes a list of one.
const at::Tensor& singleTensor(const std::vector<at::Tensor>& tensors, const char* op) {
  checkCount(tensors.size(), 1, (std::string(op) + "'s tensor list").c_str());
  checkCpu(tensors[0], (std::string(op) + "'s tensor").c_str());
  return tensors[0];
}

// Ops that only move data move bytes (tuttiUint8): every dtype, bool and complex included.
size_t bytesOf(const at::Tensor& tensor) { return count(tensor) * tensor.element_size(); }

// A rank as Tutti takes it; one outside int's range becomes -1, which Tutti refuses too.
int rankArg(int64_t rank) {
  return rank < 0 || rank > std::numeric_limits<int>::max() ? -1 : static_cast<int>(rank);
}

// The tensors of a list side by side in one new buffer (copied now: they may change after the
// call), each `numel` elements.
at::Tensor flatten(const std::vector<at::Tensor>& tensors, int64_t numel,
                   const at::TensorOptions& options) {
  const at::Tensor flat = at::empty({static_cast<int64_t>(tensors.size()) * numel}, options);
  for (size_t r = 0; r < tensors.size(); ++r) {
    flat.narrow(0, static_cast<int64_t>(r) * numel, numel).copy_(tensors[r].reshape({-1}));
  }
  return flat;
}

// The copy-back that hands a list of tensors its slices of the flat buffer a call wrote.
std::function<void()> unflatten(std::vector<at::Tensor> tensors, at::Tensor flat, int64_t numel) {
  return [tensors, flat, numel]() mutable {
    for (size_t r = 0; r < tensors.size(); ++r) {
      tensors[r].copy_(
          flat.narrow(0, static_cast<int64_t>(r) * numel, numel).view(tensors[r].sizes()));
    }
  };
}

// One message of an all-to-all: where its bytes are (sent or received) and how many.
struct Part {
  void* data;
  size_t bytes;
};

// A tensor's parts along dim 0 per rank, as torch's split sizes give them (empty: equal parts).
std::vector<Part> splitParts(const at::Tensor& tensor, const std::vector<int64_t>& splits, int size,
                             const char* argument) {
  TORCH_CHECK(tensor.dim() >= 1, "tutti: alltoall_base's ", argument,
              " is a scalar; it is split along dim 0");
  const int64_t rows = tensor.size(0);
  std::vector<int64_t> sizes = splits;
  if (sizes.empty()) {
    TORCH_CHECK(rows % size == 0, "tutti: alltoall_base's ", argument, " has ", rows,
                " rows (dim 0), which do not split equally across ", size, " ranks");
    sizes.assign(static_cast<size_t>(size), rows / size);
  }
  TORCH_CHECK(sizes.size() == static_cast<size_t>(size), "tutti: alltoall_base's ", argument,
              " split sizes name ", sizes.size(), " ranks; the group has ", size);
  int64_t total = 0;
  for (int64_t rowsOfRank : sizes) {
    TORCH_CHECK(rowsOfRank >= 0, "tutti: alltoall_base's ", argument, " split size ", rowsOfRank,
                " is negative");
    total += rowsOfRank;
  }
  TORCH_CHECK(total == rows, "tutti: alltoall_base's ", argument, " split sizes add up to ", total,
              " rows; the tensor has ", rows, " (dim 0)");
  const size_t rowBytes = rows == 0 ? 0 : bytesOf(tensor) / static_cast<size_t>(rows);
  std::vector<Part> parts;
  char* next = static_cast<char*>(tensor.data_ptr());
  for (int64_t rowsOfRank : sizes) {
    parts.push_back({next, static_cast<size_t>(rowsOfRank) * rowBytes});
    next += parts.back().bytes;
  }
  return parts;
}

// sends[p] to rank p and recvs[p] from rank p, as one group on the stream. The tensors were
// checked already, so Tutti refuses no call of the group but for a communicator in error, which
// tuttiGroupEnd then refuses as a whole.
tuttiResult_t exchange(const std::vector<Part>& sends, const std::vector<Part>& recvs,
                       tuttiComm_t comm, tuttiStream_t stream) {
  tuttiResult_t first = tuttiGroupStart();
  for (size_t p = 0; p < sends.size() && first == tuttiSuccess; ++p) {
    first = tuttiSend(sends[p].data, sends[p].bytes, tuttiUint8, static_cast<int>(p), comm, stream);
  }
  for (size_t p = 0; p < recvs.size() && first == tuttiSuccess; ++p) {
    first = tuttiRecv(recvs[p].data, recvs[p].bytes, tuttiUint8, static_cast<int>(p), comm, stream);
  }
  const tuttiResult_t ended = tuttiGroupEnd();
  return first != tuttiSuccess ? first : ended;
}

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
  TORCH_CHECK(!coalescing_, "tutti: ", launch.name,
              " between startCoalescing and endCoalescing: only send and recv are coalesced "
              "(batch_isend_irecv)");
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
  auto work = c10::make_intrusive<TuttiWork>(
      rank_, launch.type, launch.name, event,
      launch.timeout == c10d::kUnsetTimeout ? timeout_ : launch.timeout,
      std::move(launch.keepAlive), std::move(launch.outputs), std::move(launch.copyBack));
  follow(work, event);
  return work;
}

void ProcessGroupTutti::follow(const c10::intrusive_ptr<TuttiWork>& work, tuttiHostEvent_t event) {
  const tuttiResult_t recorded = tuttiHostEventRecord(event, stream_);
  // The callback holds the Work until the call completed, so that its buffers outlive the call
  // even if the caller drops the Work; it settles the Work and its future on the progress thread.
  auto* holder = new c10::intrusive_ptr<TuttiWork>(work);
  const tuttiResult_t added =
      tuttiHostStreamAddCallback(stream_, &TuttiWork::onCallComplete, holder);
  if (added != tuttiSuccess) delete holder;
  // Neither fails for live handles.
  check(recorded, "tuttiHostEventRecord", nullptr);
  check(added, "tuttiHostStreamAddCallback", nullptr);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::inPlace(
    c10d::OpType type, const char* name, const at::Tensor& tensor,
    std::chrono::milliseconds timeout,
    const std::function<tuttiResult_t(void*, tuttiStream_t)>& call) {
  Output out = stageOutput(tensor, /*callReadsIt=*/true);
  const at::Tensor buffer = out.buffer;
  return issue({type, name, timeout, {tensor, buffer}, {tensor}, std::move(out.copyBack)},
               [&](tuttiStream_t stream) { return call(buffer.data_ptr(), stream); });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::allreduce(std::vector<at::Tensor>& tensors,
                                                            const c10d::AllreduceOptions& opts) {
  const at::Tensor& tensor = singleTensor(tensors, "allreduce");
  const tuttiDataType_t type = tuttiType(tensor, "allreduce's tensor");
  const tuttiRedOp_t op = tuttiOp(opts.reduceOp);
  return inPlace(c10d::OpType::ALLREDUCE, "allreduce", tensor, opts.timeout,
                 [&](void* data, tuttiStream_t stream) {
                   return tuttiAllReduce(data, data, count(tensor), type, op, comm_, stream);
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
  return issue({c10d::OpType::ALLGATHER,
                "allgather",
                opts.timeout,
                {input, flat},
                outputs,
                unflatten(outputs, flat, numel)},
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
  const at::Tensor flat = flatten(inputs, numel, output.options());
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

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::broadcast(std::vector<at::Tensor>& tensors,
                                                            const c10d::BroadcastOptions& opts) {
  const at::Tensor& tensor = singleTensor(tensors, "broadcast");
  const int root = rankArg(opts.rootRank);
  return inPlace(c10d::OpType::BROADCAST, "broadcast", tensor, opts.timeout,
                 [&](void* data, tuttiStream_t stream) {
                   return tuttiBroadcast(data, data, bytesOf(tensor), tuttiUint8, root, comm_,
                                         stream);
                 });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::reduce(std::vector<at::Tensor>& tensors,
                                                         const c10d::ReduceOptions& opts) {
  const at::Tensor& tensor = singleTensor(tensors, "reduce");
  const tuttiDataType_t type = tuttiType(tensor, "reduce's tensor");
  const tuttiRedOp_t op = tuttiOp(opts.reduceOp);
  const int root = rankArg(opts.rootRank);
  // Off the root Tutti leaves the tensor as it was.
  return inPlace(c10d::OpType::REDUCE, "reduce", tensor, opts.timeout,
                 [&](void* data, tuttiStream_t stream) {
                   return tuttiReduce(data, data, count(tensor), type, op, root, comm_, stream);
                 });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::gather(
    std::vector<std::vector<at::Tensor>>& outputTensors, std::vector<at::Tensor>& inputTensors,
    const c10d::GatherOptions& opts) {
  checkCount(inputTensors.size(), 1, "gather's input list");
  checkCpu(inputTensors[0], "gather's input tensor");
  const at::Tensor input = inputTensors[0].contiguous();
  const int64_t numel = input.numel();
  const int root = rankArg(opts.rootRank);
  // torch passes the output list on the root only.
  std::vector<at::Tensor> outputs;
  at::Tensor flat;
  if (rank_ == root) {
    checkCount(outputTensors.size(), 1, "gather's output list of lists on the root");
    outputs = outputTensors[0];
    checkCount(outputs.size(), static_cast<size_t>(size_),
               "gather's output list on the root (one per rank)");
    for (size_t r = 0; r < outputs.size(); ++r) {
      checkLike(outputs[r], input, numel, "gather's output tensor " + std::to_string(r),
                "the input");
    }
    flat = at::empty({size_ * numel}, input.options());
  } else {
    checkCount(outputTensors.size(), 0, "gather's output list of lists off the root");
  }
  return issue({c10d::OpType::GATHER,
                "gather",
                opts.timeout,
                {input, flat},
                outputs,
                flat.defined() ? unflatten(outputs, flat, numel) : nullptr},
               [&](tuttiStream_t stream) {
                 return tuttiGather(input.data_ptr(), flat.defined() ? flat.data_ptr() : nullptr,
                                    bytesOf(input), tuttiUint8, root, comm_, stream);
               });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::scatter(
    std::vector<at::Tensor>& outputTensors, std::vector<std::vector<at::Tensor>>& inputTensors,
    const c10d::ScatterOptions& opts) {
  checkCount(outputTensors.size(), 1, "scatter's output list");
  const at::Tensor& output = outputTensors[0];
  checkCpu(output, "scatter's output tensor");
  const int64_t numel = output.numel();
  const int root = rankArg(opts.rootRank);
  // torch passes the input list on the root only.
  at::Tensor flat;
  if (rank_ == root) {
    checkCount(inputTensors.size(), 1, "scatter's input list of lists on the root");
    const std::vector<at::Tensor>& inputs = inputTensors[0];
    checkCount(inputs.size(), static_cast<size_t>(size_),
               "scatter's input list on the root (one per rank)");
    for (size_t r = 0; r < inputs.size(); ++r) {
      checkLike(inputs[r], output, numel, "scatter's input tensor " + std::to_string(r),
                "the output");
    }
    flat = flatten(inputs, numel, output.options());
  } else {
    checkCount(inputTensors.size(), 0, "scatter's input list of lists off the root");
  }
  Output out = stageOutput(output, /*callReadsIt=*/false);
  const at::Tensor buffer = out.buffer;
  return issue({c10d::OpType::SCATTER,
                "scatter",
                opts.timeout,
                {flat, buffer, output},
                {output},
                std::move(out.copyBack)},
               [&](tuttiStream_t stream) {
                 return tuttiScatter(flat.defined() ? flat.data_ptr() : nullptr, buffer.data_ptr(),
                                     bytesOf(buffer), tuttiUint8, root, comm_, stream);
               });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::alltoall_base(
    at::Tensor& outputBuffer, at::Tensor& inputBuffer, std::vector<int64_t>& outputSplitSizes,
    std::vector<int64_t>& inputSplitSizes, const c10d::AllToAllOptions& opts) {
  checkCpu(inputBuffer, "alltoall_base's input tensor");
  checkCpu(outputBuffer, "alltoall_base's output tensor");
  TORCH_CHECK(outputBuffer.scalar_type() == inputBuffer.scalar_type(),
              "tutti: alltoall_base's output has dtype ", outputBuffer.scalar_type(),
              ", the input ", inputBuffer.scalar_type(), "; they must agree");
  const at::Tensor input = inputBuffer.contiguous();
  Output out = stageOutput(outputBuffer, /*callReadsIt=*/false);
  const at::Tensor buffer = out.buffer;
  const std::vector<Part> sends = splitParts(input, inputSplitSizes, size_, "input");
  const std::vector<Part> recvs = splitParts(buffer, outputSplitSizes, size_, "output");
  const bool equal = inputSplitSizes.empty() && outputSplitSizes.empty();
  if (equal) {
    TORCH_CHECK(sends[0].bytes == recvs[0].bytes,
                "tutti: alltoall_base with equal splits: the "
                "output's parts (",
                recvs[0].bytes, " bytes) must be as large as the input's (", sends[0].bytes,
                " bytes)");
  }
  return issue({c10d::OpType::ALLTOALL_BASE,
                "alltoall_base",
                opts.timeout,
                {input, buffer, outputBuffer},
                {outputBuffer},
                std::move(out.copyBack)},
               [&](tuttiStream_t stream) {
                 return equal ? tuttiAlltoAll(input.data_ptr(), buffer.data_ptr(), sends[0].bytes,
                                              tuttiUint8, comm_, stream)
                              : exchange(sends, recvs, comm_, stream);
               });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::alltoall(std::vector<at::Tensor>& outputTensors,
                                                           std::vector<at::Tensor>& inputTensors,
                                                           const c10d::AllToAllOptions& opts) {
  checkCount(inputTensors.size(), static_cast<size_t>(size_),
             "alltoall's input list (one per rank)");
  checkCount(outputTensors.size(), static_cast<size_t>(size_),
             "alltoall's output list (one per rank)");
  std::vector<at::Tensor> keepAlive;
  std::vector<std::function<void()>> copyBacks;
  std::vector<Part> sends, recvs;
  for (int r = 0; r < size_; ++r) {
    const std::string which = " " + std::to_string(r);
    checkCpu(inputTensors[r], ("alltoall's input tensor" + which).c_str());
    checkCpu(outputTensors[r], ("alltoall's output tensor" + which).c_str());
    TORCH_CHECK(inputTensors[r].scalar_type() == inputTensors[0].scalar_type() &&
                    outputTensors[r].scalar_type() == inputTensors[0].scalar_type(),
                "tutti: alltoall's tensors must share one dtype; input 0 has ",
                inputTensors[0].scalar_type(), ", input", which, " ", inputTensors[r].scalar_type(),
                ", output", which, " ", outputTensors[r].scalar_type());
    const at::Tensor input = inputTensors[r].contiguous();
    Output out = stageOutput(outputTensors[r], /*callReadsIt=*/false);
    sends.push_back({input.data_ptr(), bytesOf(input)});
    recvs.push_back({out.buffer.data_ptr(), bytesOf(out.buffer)});
    keepAlive.insert(keepAlive.end(), {input, out.buffer, outputTensors[r]});
    if (out.copyBack) copyBacks.push_back(std::move(out.copyBack));
  }
  auto copyBack = [copyBacks]() {
    for (const auto& step : copyBacks) step();
  };
  return issue({c10d::OpType::ALLTOALL, "alltoall", opts.timeout, std::move(keepAlive),
                outputTensors, std::move(copyBack)},
               [&](tuttiStream_t stream) { return exchange(sends, recvs, comm_, stream); });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::peerOp(bool send,
                                                         std::vector<at::Tensor>& tensors, int peer,
                                                         int tag) {
  const char* name = send ? "send" : "recv";
  const at::Tensor& tensor = singleTensor(tensors, name);
  TORCH_CHECK(tag == 0, "tutti: ", name, " with tag ", tag,
              ": Tutti has no tags; messages between two ranks match in the order each issued "
              "them (pass tag=0)");
  Output out =
      send ? Output{tensor.contiguous(), nullptr} : stageOutput(tensor, /*callReadsIt=*/false);
  const at::Tensor buffer = out.buffer;
  {
    std::lock_guard<std::mutex> lock(issueMutex_);
    if (coalescing_) {
      tuttiHostEvent_t event = nullptr;
      check(tuttiHostEventCreate(&event), "tuttiHostEventCreate", nullptr);
      auto work = c10::make_intrusive<TuttiWork>(
          rank_, send ? c10d::OpType::SEND : c10d::OpType::RECV, name, event, timeout_,
          std::vector<at::Tensor>{tensor, buffer}, std::vector<at::Tensor>{tensor},
          std::move(out.copyBack));
      coalesced_.push_back({send, buffer, peer, work, event});
      return work;
    }
  }
  return issue(
      {send ? c10d::OpType::SEND : c10d::OpType::RECV,
       name,
       c10d::kUnsetTimeout,
       {tensor, buffer},
       {tensor},
       std::move(out.copyBack)},
      [&](tuttiStream_t stream) {
        return send
                   ? tuttiSend(buffer.data_ptr(), bytesOf(buffer), tuttiUint8, peer, comm_, stream)
                   : tuttiRecv(buffer.data_ptr(), bytesOf(buffer), tuttiUint8, peer, comm_, stream);
      });
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::send(std::vector<at::Tensor>& tensors,
                                                       int dstRank, int tag) {
  return peerOp(/*send=*/true, tensors, dstRank, tag);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::recv(std::vector<at::Tensor>& tensors,
                                                       int srcRank, int tag) {
  return peerOp(/*send=*/false, tensors, srcRank, tag);
}

void ProcessGroupTutti::startCoalescing() {
  std::lock_guard<std::mutex> lock(issueMutex_);
  TORCH_CHECK(!coalescing_, "tutti: startCoalescing inside another (they do not nest)");
  coalescing_ = true;
}

void ProcessGroupTutti::endCoalescing(std::vector<c10::intrusive_ptr<c10d::Work>>&) {
  std::lock_guard<std::mutex> lock(issueMutex_);
  TORCH_CHECK(coalescing_, "tutti: endCoalescing without startCoalescing");
  coalescing_ = false;
  std::vector<CoalescedCall> calls = std::move(coalesced_);
  coalesced_.clear();
  if (calls.empty()) return;
  tuttiResult_t first = tuttiGroupStart();
  for (size_t i = 0; i < calls.size() && first == tuttiSuccess; ++i) {
    const CoalescedCall& c = calls[i];
    void* data = c.buffer.data_ptr();
    const size_t bytes = bytesOf(c.buffer);
    first = c.send ? tuttiSend(data, bytes, tuttiUint8, c.peer, comm_, stream_)
                   : tuttiRecv(data, bytes, tuttiUint8, c.peer, comm_, stream_);
  }
  // Ends the group whatever happened in it (a refused call makes it refuse as a whole).
  const tuttiResult_t ended = tuttiGroupEnd();
  const tuttiResult_t result = first != tuttiSuccess ? first : ended;
  if (result != tuttiSuccess) {
    const std::string message = tuttiGetLastError(comm_);
    // Nothing was queued: every Work fails with the group's error (never a success).
    for (const CoalescedCall& c : calls) c.work->fail(result, message);
    TORCH_CHECK(false, "tutti: batch_isend_irecv's group of ", calls.size(), " calls failed (",
                tuttiGetErrorString(result), "): ", message);
  }
  for (const CoalescedCall& c : calls) follow(c.work, c.event);
}

c10::intrusive_ptr<c10d::Work> ProcessGroupTutti::recvAnysource(std::vector<at::Tensor>&, int) {
  TORCH_CHECK_NOT_IMPLEMENTED(false,
                              "tutti: recv without a source (recvAnysource) is not supported: "
                              "Tutti matches each message with its sender; pass src");
}

}  // namespace tutti_torch
