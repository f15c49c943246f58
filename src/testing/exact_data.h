// Integer-valued test data (shared by the multi-process tests and tutti-perf's check) and exact
// expected results for every type and op, computed from a formula of (rank, index) without calling
// Tutti's reduction code. Values are small enough for every partial result to be exact in the type
// (so the order of reduction cannot matter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tutti/tutti.h"

namespace tutti::test {

// The integer contributed by `rank` at `index`.
int64_t contribution(tuttiDataType_t type, tuttiRedOp_t op, int nranks, int rank, size_t index);

// Fills count elements of type with contribution(rank, base + i).
void fillContributions(void* buffer, tuttiDataType_t type, tuttiRedOp_t op, int nranks, int rank,
                       size_t base, size_t count);

// The exact result at `index` of op over all ranks, stored into out (one element).
void expectedReduction(void* out, tuttiDataType_t type, tuttiRedOp_t op, int nranks, size_t index);

// Number of elements of a and b (count of type) whose bytes differ; first mismatch in *first.
size_t countMismatches(const void* a, const void* b, size_t count, tuttiDataType_t type,
                       size_t* first);

size_t typeSize(tuttiDataType_t type);
const char* typeName(tuttiDataType_t type);
const char* opName(tuttiRedOp_t op);

}  // namespace tutti::test
