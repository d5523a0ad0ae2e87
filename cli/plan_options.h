// The flags of the commands that build a patch plan from the command line (tokenize's bulk export, preview).
#pragma once
#include <cxxopts.hpp>

#include "sampler/training_set.h"

namespace rhotrain {

void add_plan_options(cxxopts::Options& options);
PlanSpec plan_spec_from(const cxxopts::ParseResult& r);

}  // namespace rhotrain
