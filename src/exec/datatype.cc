#include "exec/datatype.h"

namespace tutti {

namespace {

struct TypeInfo {
  const char* name;
  size_t size;
};

// Indexed by tuttiDataType_t.
constexpr TypeInfo kTypes[tuttiNumTypes] = {
    {"int8", 1}, {"uint8", 1}, {"int32", 4},  {"uint32", 4},   {"int64", 8},  {"uint64", 8},
    {"half", 2}, {"float", 4}, {"double", 8}, {"bfloat16", 2}, {"f8e4m3", 1}, {"f8e5m2", 1},
};

// Indexed by tuttiRedOp_t.
constexpr const char* kOpNames[tuttiNumOps] = {"sum", "prod", "max", "min", "avg"};

struct Alias {
  const char* name;
  tuttiDataType_t type;
};

constexpr Alias kTypeAliases[] = {
    {"float16", tuttiFloat16}, {"fp16", tuttiFloat16},    {"float32", tuttiFloat32},
    {"fp32", tuttiFloat32},    {"float64", tuttiFloat64}, {"fp64", tuttiFloat64},
    {"bf16", tuttiBfloat16},   {"e4m3", tuttiFloat8e4m3}, {"e5m2", tuttiFloat8e5m2},
    {"char", tuttiChar},       {"int", tuttiInt},
};

}  // namespace

bool isValidDataType(int type) { return type >= 0 && type < tuttiNumTypes; }

bool isValidRedOp(int op) { return op >= 0 && op < tuttiNumOps; }

size_t dataTypeSize(tuttiDataType_t type) { return isValidDataType(type) ? kTypes[type].size : 0; }

const char* dataTypeName(tuttiDataType_t type) {
  return isValidDataType(type) ? kTypes[type].name : "unknown";
}

const char* redOpName(tuttiRedOp_t op) { return isValidRedOp(op) ? kOpNames[op] : "unknown"; }

bool parseDataType(const std::string& name, tuttiDataType_t* out) {
  for (int type = 0; type < tuttiNumTypes; ++type) {
    if (name == kTypes[type].name) {
      *out = static_cast<tuttiDataType_t>(type);
      return true;
    }
  }
  for (const Alias& alias : kTypeAliases) {
    if (name == alias.name) {
      *out = alias.type;
      return true;
    }
  }
  return false;
}

bool parseRedOp(const std::string& name, tuttiRedOp_t* out) {
  for (int op = 0; op < tuttiNumOps; ++op) {
    if (name == kOpNames[op]) {
      *out = static_cast<tuttiRedOp_t>(op);
      return true;
    }
  }
  return false;
}

}  // namespace tutti
