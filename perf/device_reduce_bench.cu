// tutti-device-bench: the device reduction kernel's bandwidth on the current GPU, next to a
// device-to-device cudaMemcpyAsync of the same size (the practical ceiling). CUDA events time each
// call; the median of 20 after warm-up is reported. Bytes moved: a copy reads and writes its
// size, a reduction reads two inputs and writes one output.
//
//   tutti-device-bench [MiB per input, default 256]
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <vector>

#include "device/cuda/cuda_kernels.h"
#include "device/reduce_launch.h"
#include "exec/datatype.h"

namespace {

constexpr int kWarmup = 3;
constexpr int kTimed = 20;

#define CHECK(call)                                                                              \
  do {                                                                                           \
    const cudaError_t error_ = static_cast<cudaError_t>(call);                                   \
    if (error_ != cudaSuccess) {                                                                 \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(error_)); \
      exit(1);                                                                                   \
    }                                                                                            \
  } while (0)

// Varied bytes with bit 6 clear: no NaN or infinity in any floating type (the exponent's top bit
// is clear), a mix of normal and subnormal values, so the conversions take their usual paths.
__global__ void fillKernel(uint8_t* p, size_t bytes, uint32_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < bytes;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[i] = static_cast<uint8_t>(h) & 0xbf;
  }
}

// Median time in microseconds of `run` queued on `stream`.
template <typename Run>
double medianMicros(cudaStream_t stream, Run run) {
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < kWarmup; ++i) CHECK(run());
  std::vector<double> times;
  for (int i = 0; i < kTimed; ++i) {
    CHECK(cudaEventRecord(start, stream));
    CHECK(run());
    CHECK(cudaEventRecord(stop, stream));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms * 1000.0);
  }
  CHECK(cudaEventDestroy(start));
  CHECK(cudaEventDestroy(stop));
  std::sort(times.begin(), times.end());
  return (times[kTimed / 2 - 1] + times[kTimed / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int devices = 0;
  const cudaError_t probe = cudaGetDeviceCount(&devices);
  if (probe != cudaSuccess || devices == 0) {
    printf("tutti-device-bench: no CUDA device (%s); nothing measured\n",
           probe != cudaSuccess ? cudaGetErrorString(probe) : "none found");
    return 0;
  }
  const size_t mib = argc > 1 ? strtoull(argv[1], nullptr, 10) : 256;
  const size_t bytes = mib << 20;
  int device = 0, smCount = 0;
  CHECK(cudaGetDevice(&device));
  CHECK(tutti::device::deviceSmCount(device, &smCount));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, device));
  printf("device %d: %s, %d SMs; %zu MiB per input; median of %d after %d warm-up\n", device,
         prop.name, smCount, mib, kTimed, kWarmup);

  uint8_t *a, *b, *dst;
  CHECK(cudaMalloc(&a, bytes));
  CHECK(cudaMalloc(&b, bytes));
  CHECK(cudaMalloc(&dst, bytes));
  fillKernel<<<smCount * 4, 512>>>(a, bytes, 1);
  fillKernel<<<smCount * 4, 512>>>(b, bytes, 2);
  CHECK(cudaGetLastError());
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));

  const double copyUs = medianMicros(
      stream, [&] { return cudaMemcpyAsync(dst, a, bytes, cudaMemcpyDeviceToDevice, stream); });
  const double copyGbps = 2.0 * bytes / copyUs / 1e3;
  printf("%-10s %-5s %12s %10s %9s %9s\n", "type", "op", "bytes", "time us", "GB/s", "of copy");
  printf("%-10s %-5s %12zu %10.1f %9.1f %9.3f\n", "d2d-copy", "-", 2 * bytes, copyUs, copyGbps,
         1.0);

  const tuttiDataType_t types[] = {tuttiFloat32, tuttiBfloat16, tuttiFloat16, tuttiFloat8e4m3};
  const tuttiRedOp_t ops[] = {tuttiSum, tuttiMax};
  for (tuttiDataType_t type : types) {
    for (tuttiRedOp_t op : ops) {
      tutti::device::ReduceLaunch launch;
      launch.dst = dst;
      launch.a = a;
      launch.b = b;
      launch.count = bytes / tutti::dataTypeSize(type);
      launch.type = type;
      launch.op = op;
      const double us = medianMicros(
          stream, [&] { return tutti::device::launchReduceKernel(launch, stream, smCount); });
      const double gbps = 3.0 * bytes / us / 1e3;
      printf("%-10s %-5s %12zu %10.1f %9.1f %9.3f\n", tutti::dataTypeName(type),
             tutti::redOpName(op), 3 * bytes, us, gbps, gbps / copyGbps);
    }
  }
  CHECK(cudaStreamDestroy(stream));
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  CHECK(cudaFree(dst));
  return 0;
}
