// `rhotrain logs`: reads the TensorBoard event files of one or more runs (not a side file) and prints each
// scalar tag's last and best value side by side, or the per-step series; tolerates files still being written.
#pragma once

namespace rhotrain {

int cmd_logs(int argc, char** argv);

}  // namespace rhotrain
