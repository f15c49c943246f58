// The device layer's parameters (shown by tutti-perf --params with every other table).
#pragma once

#include <vector>

#include "base/params.h"

namespace tutti {
namespace device {

const std::vector<ParamInfo>& deviceParamTable();

}  // namespace device
}  // namespace tutti
