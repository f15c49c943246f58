// Torch's dtypes and reduce ops as Tutti's, with an error naming what Tutti lacks.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "torch_compat.h"
#include "tutti/tutti.h"

namespace tutti_torch {

// The Tutti type of a tensor's dtype; throws (c10::Error: RuntimeError in Python) naming the
// argument and the dtype when Tutti has none (int16, bool, complex, ...).
inline tuttiDataType_t tuttiType(const at::Tensor& tensor, const char* argument) {
  switch (tensor.scalar_type()) {
    case at::kHalf:
      return tuttiFloat16;
    case at::kBFloat16:
      return tuttiBfloat16;
    case at::kFloat:
      return tuttiFloat32;
    case at::kDouble:
      return tuttiFloat64;
    case at::kChar:
      return tuttiInt8;
    case at::kByte:
      return tuttiUint8;
    case at::kInt:
      return tuttiInt32;
    case at::kLong:
      return tuttiInt64;
    default: {
      // torch's names for the common ones, so that the message matches what the user wrote.
      const std::string name = tensor.scalar_type() == at::kShort ? "torch.int16"
                               : tensor.scalar_type() == at::kBool
                                   ? "torch.bool"
                                   : std::string(tensor.dtype().name());
      TORCH_CHECK(false, "tutti: ", argument, " has dtype ", name,
                  ", which Tutti does not have; supported: float16, bfloat16, float32, float64, "
                  "int8, uint8, int32, int64");
    }
  }
}

// The Tutti op of a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX); throws for the bitwise ops and
// PREMUL_SUM.
inline tuttiRedOp_t tuttiOp(const c10d::ReduceOp& op) {
  switch (op.op_) {
    case c10d::ReduceOp::SUM:
      return tuttiSum;
    case c10d::ReduceOp::AVG:
      return tuttiAvg;
    case c10d::ReduceOp::PRODUCT:
      return tuttiProd;
    case c10d::ReduceOp::MIN:
      return tuttiMin;
    case c10d::ReduceOp::MAX:
      return tuttiMax;
    default: {
      static const char* const kNames[] = {"SUM",  "AVG", "PRODUCT", "MIN",       "MAX",
                                           "BAND", "BOR", "BXOR",    "PREMUL_SUM"};
      const unsigned index = static_cast<unsigned>(op.op_);
      TORCH_CHECK(false, "tutti: reduce op ",
                  index < sizeof(kNames) / sizeof(kNames[0]) ? kNames[index] : "unknown",
                  " is not supported; supported: SUM, AVG, PRODUCT, MIN, MAX");
    }
  }
}

}  // namespace tutti_torch
