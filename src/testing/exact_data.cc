#include "testing/exact_data.h"

#include <algorithm>
#include <cstring>

#include "exec/datatype.h"

namespace tutti::test {
namespace {

bool isSigned(tuttiDataType_t type) {
  return type != tuttiUint8 && type != tuttiUint32 && type != tuttiUint64;
}

bool isFloating(tuttiDataType_t type) {
  return type == tuttiFloat16 || type == tuttiFloat32 || type == tuttiFloat64 ||
         type == tuttiBfloat16 || type == tuttiFloat8e4m3 || type == tuttiFloat8e5m2;
}

// Largest integer up to which every integer is exact in the type (or the type's max).
int64_t exactBound(tuttiDataType_t type) {
  switch (type) {
    case tuttiInt8:
      return 127;
    case tuttiUint8:
      return 255;
    case tuttiFloat8e5m2:
      return 8;
    case tuttiFloat8e4m3:
      return 16;
    case tuttiBfloat16:
      return 256;
    case tuttiFloat16:
      return 2048;
    default:
      return int64_t{1} << 24;
  }
}

void storeInteger(void* out, tuttiDataType_t type, int64_t value) {
  switch (type) {
    case tuttiInt8:
    case tuttiUint8: {
      uint8_t v = static_cast<uint8_t>(value);
      std::memcpy(out, &v, 1);
      break;
    }
    case tuttiInt32:
    case tuttiUint32: {
      uint32_t v = static_cast<uint32_t>(value);
      std::memcpy(out, &v, 4);
      break;
    }
    case tuttiInt64:
    case tuttiUint64: {
      uint64_t v = static_cast<uint64_t>(value);
      std::memcpy(out, &v, 8);
      break;
    }
    default:
      break;
  }
}

void storeFloat(void* out, tuttiDataType_t type, double value) {
  switch (type) {
    case tuttiFloat16: {
      uint16_t v = floatToHalf(static_cast<float>(value));
      std::memcpy(out, &v, 2);
      break;
    }
    case tuttiBfloat16: {
      uint16_t v = floatToBf16(static_cast<float>(value));
      std::memcpy(out, &v, 2);
      break;
    }
    case tuttiFloat8e4m3: {
      uint8_t v = floatToFp8e4m3(static_cast<float>(value));
      std::memcpy(out, &v, 1);
      break;
    }
    case tuttiFloat8e5m2: {
      uint8_t v = floatToFp8e5m2(static_cast<float>(value));
      std::memcpy(out, &v, 1);
      break;
    }
    case tuttiFloat32: {
      float v = static_cast<float>(value);
      std::memcpy(out, &v, 4);
      break;
    }
    case tuttiFloat64:
      std::memcpy(out, &value, 8);
      break;
    default:
      break;
  }
}

}  // namespace

size_t typeSize(tuttiDataType_t type) { return dataTypeSize(type); }
const char* typeName(tuttiDataType_t type) { return dataTypeName(type); }
const char* opName(tuttiRedOp_t op) { return redOpName(op); }

int64_t contribution(tuttiDataType_t type, tuttiRedOp_t op, int nranks, int rank, size_t index) {
  uint64_t mix = (static_cast<uint64_t>(rank) + 1) * 0x9e3779b97f4a7c15ull ^
                 (static_cast<uint64_t>(index) + 7) * 0xc2b2ae3d27d4eb4full;
  mix ^= mix >> 29;
  if (op == tuttiProd) {
    // Powers of two with signs: every product is exact, integer products wrap like the library.
    static const int64_t kSigned[] = {1, 2, -1, 1};
    static const int64_t kUnsigned[] = {1, 2, 1, 1};
    return isSigned(type) ? kSigned[mix % 4] : kUnsigned[mix % 4];
  }
  int64_t bound = exactBound(type);
  if (op == tuttiMax || op == tuttiMin) {
    int64_t span = std::min<int64_t>(bound, 100);
    int64_t v = static_cast<int64_t>(mix % static_cast<uint64_t>(span + 1));
    return isSigned(type) ? v - span / 2 : v;
  }
  // Sum and Avg: every partial sum of up to nranks values stays within the exact range.
  int64_t per = std::max<int64_t>(1, std::min<int64_t>(bound / nranks, 50));
  int64_t v = static_cast<int64_t>(mix % static_cast<uint64_t>(per + 1));
  return isSigned(type) ? v - per / 2 : v;
}

void fillContributions(void* buffer, tuttiDataType_t type, tuttiRedOp_t op, int nranks, int rank,
                       size_t base, size_t count) {
  const size_t size = dataTypeSize(type);
  char* out = static_cast<char*>(buffer);
  for (size_t i = 0; i < count; ++i) {
    int64_t v = contribution(type, op, nranks, rank, base + i);
    if (isFloating(type)) {
      storeFloat(out + i * size, type, static_cast<double>(v));
    } else {
      storeInteger(out + i * size, type, v);
    }
  }
}

void expectedReduction(void* out, tuttiDataType_t type, tuttiRedOp_t op, int nranks, size_t index) {
  int64_t acc = contribution(type, op, nranks, 0, index);
  for (int r = 1; r < nranks; ++r) {
    int64_t v = contribution(type, op, nranks, r, index);
    switch (op) {
      case tuttiSum:
      case tuttiAvg:
        acc += v;
        break;
      case tuttiProd:
        acc = static_cast<int64_t>(static_cast<uint64_t>(acc) * static_cast<uint64_t>(v));
        break;
      case tuttiMax:
        acc = std::max(acc, v);
        break;
      case tuttiMin:
        acc = std::min(acc, v);
        break;
      default:
        break;
    }
  }
  if (!isFloating(type)) {
    if (op == tuttiAvg) {
      // Truncating division in the element type (the sum is within range by construction).
      acc = acc / nranks;
    }
    storeInteger(out, type, acc);
    return;
  }
  if (op == tuttiAvg) {
    if (type == tuttiFloat64) {
      storeFloat(out, type, static_cast<double>(acc) / nranks);
    } else {
      // fp16, bf16, fp8 and float32 divide in float32, then round to the type once.
      float q = static_cast<float>(acc) / static_cast<float>(nranks);
      storeFloat(out, type, static_cast<double>(q));
    }
    return;
  }
  storeFloat(out, type, static_cast<double>(acc));
}

size_t countMismatches(const void* a, const void* b, size_t count, tuttiDataType_t type,
                       size_t* first) {
  const size_t size = dataTypeSize(type);
  const char* x = static_cast<const char*>(a);
  const char* y = static_cast<const char*>(b);
  size_t wrong = 0;
  for (size_t i = 0; i < count; ++i) {
    if (std::memcmp(x + i * size, y + i * size, size) != 0) {
      if (wrong == 0 && first != nullptr) *first = i;
      ++wrong;
    }
  }
  return wrong;
}

}  // namespace tutti::test
