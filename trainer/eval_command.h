// `rhotrain eval`: the in-loop evaluation on a saved checkpoint, on any set of any store; or, with --oracle,
// the true density tokens routed through the same tiling / decoding / stitching path (must equal the floor).
#pragma once

namespace rhotrain {

int cmd_eval(int argc, char** argv);

}  // namespace rhotrain
