// Gathers the cost model's constants from a topology under their former name (cost_topology.h).
#pragma once

#include "algo/cost_topology.h"
