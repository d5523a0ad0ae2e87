// The summary `rhotrain info` (and `synth`, after writing) prints of a store: counts per split and the spread of
// atoms, grid voxels and electron counts over its materials.
#pragma once
#include <string>

#include "materials/store.h"

namespace rhotrain {

std::string store_summary(const MaterialStore& store);

}  // namespace rhotrain
