// The reduction kernels at the build's baseline instruction set (SSE2 on x86-64): what every
// CPU runs, and the reference the other instruction sets must match bit for bit.
#define TUTTI_REDUCE_ISA_NAMESPACE reduce_generic
#define TUTTI_REDUCE_ISA_NAME "generic"
#include "exec/reduce_kernels.inc"
