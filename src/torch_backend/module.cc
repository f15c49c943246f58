// tutti_torch._C: the Python extension behind `import tutti_torch`. It only makes groups; the
// package's __init__.py registers the creator with torch.distributed.Backend.
#include <pybind11/chrono.h>
#include <torch/csrc/utils/pybind.h>

#include "process_group.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, module) {
  module.doc() = "Tutti's torch.distributed backend (CPU tensors)";
  // torch 1.13 calls a backend's creator with (store, rank, size, timeout: timedelta).
  module.def(
      "create_process_group",
      [](const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
         std::chrono::milliseconds timeout) -> c10::intrusive_ptr<tutti_torch::BackendBase> {
        // Init waits for the other ranks (the store, the bootstrap): not while holding the GIL.
        py::gil_scoped_release release;
        return c10::make_intrusive<tutti_torch::ProcessGroupTutti>(store, rank, size, timeout);
      },
      py::arg("store"), py::arg("rank"), py::arg("size"), py::arg("timeout"));
}
