// Marks functions that compile for both the host and a CUDA device, so that one source serves
// the host reduction, the emulated device's kernels and the CUDA kernels (bit-identical results).
#pragma once

#if defined(__CUDACC__)
#define TUTTI_HOST_DEVICE __host__ __device__
#else
#define TUTTI_HOST_DEVICE
#endif
