// The reduction kernels for x86-64 CPUs with AVX2 and F16C. src/CMakeLists.txt builds this file
// alone with -mavx2 -mf16c, and reduce.cc calls it only after checking the CPU, so nothing
// else in the library needs these instructions.
#if defined(__x86_64__)
#if !defined(__AVX2__) || !defined(__F16C__)
#error "reduce_kernels_avx2.cc needs -mavx2 -mf16c"
#endif
#define TUTTI_REDUCE_ISA_NAMESPACE reduce_avx2
#define TUTTI_REDUCE_ISA_NAME "avx2"
#include "exec/reduce_kernels.inc"
#endif
