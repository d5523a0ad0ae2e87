// Subcommands of the embedded tokenizer: fit-codec (LMQ codec + its floor), tokenize (one sequence as JSON,
// or bulk .npy export for other trainers) and preview (Phase 0: the patch budget per material, no grids read).
#pragma once

namespace rhotrain {

int cmd_fit_codec(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_preview(int argc, char** argv);

}  // namespace rhotrain
