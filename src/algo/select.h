// Gathers the algorithm table, TUTTI_ALGO, the cost model, its default constants and the choice.
#pragma once

#include "algo/algo_spec.h"
#include "algo/algorithm.h"
#include "algo/choice.h"
#include "algo/cost_defaults.h"
#include "algo/cost_model.h"
