// `rhotrain experiment`: the whole weighting study in one command — default data if missing, Phase 0
// preview, Phase 1 (uniform) and Phase 2 (electrons) from one config that differ only in the weighting,
// the comparison report, and both models scored on the real-DFT fixtures.
#pragma once

namespace rhotrain {

int cmd_experiment(int argc, char** argv);

}  // namespace rhotrain
