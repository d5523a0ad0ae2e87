// How a voxel's predicted distribution over the codec's bins becomes a density value (eval.decode): the median,
// continuous median, mean or argmax of the distribution, on the codec's levels and cells.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>

#include "sampler/lmq_codec.h"

namespace rhotrain {

// The codec's bins as the decoders see them, [3, C]: each bin's level, and the lower and upper edge of its cell.
at::Tensor bin_cells(const LmqCodec& codec, c10::Device device);

// Values [...] from distributions `probs` [..., C]. median, mean and argmax give codec levels (or their mix);
// continuous is the median of a CDF that rises linearly across each bin's cell and passes the bin's level at the
// middle of its mass: a distribution on one bin decodes to its level, as the codec does, and one spread over
// neighbouring bins to a value between their levels rather than the nearer level.
at::Tensor decode_values(const at::Tensor& probs, const at::Tensor& cells, const std::string& how);

}  // namespace rhotrain
