// The v3 tokenizer: one material + one P³ patch origin → one token sequence laid out as sampler/v3_layout.h
// says, plus the inverse helpers and the report of materials it cannot take.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "materials/atomic_density.h"
#include "materials/material.h"
#include "sampler/lmq_codec.h"
#include "sampler/v3_layout.h"

namespace rhotrain {

namespace v3 {
// One fractional coordinate → 3 tokens (24-bit log-scale bin, MSB first; sign adds 256 to the first).
void encode_position(double c, int32_t out[3]);
// The inverse, within the codec's resolution (relative 4·ln10/2²⁴ ≈ 5.5e-7; values below 1e-4 become 0).
double decode_position(const int32_t tokens[3]);

// Lattice lengths (Å) and angles α, β, γ (degrees) as the tokenizer sees them.
void lattice_parameters(const Eigen::Matrix3d& lattice, double lengths[3], double angles[3]);
}  // namespace v3

class V3Tokenizer {
 public:
  V3Tokenizer(int patch, const LmqCodec& codec, int max_len);

  int patch() const { return patch_; }
  int patch_voxels() const { return patch_ * patch_ * patch_; }
  int max_len() const { return max_len_; }
  int vocab_size() const { return v3::kDensOffset + codec_.bins(); }
  const LmqCodec& codec() const { return codec_; }
  int sequence_length(size_t n_atoms) const { return v3::sequence_length(n_atoms, patch_voxels()); }

  // Why `m` cannot be tokenized, or "" when it can: a sequence longer than max_len, or an integer
  // token (grid size, lattice length, angle) outside 0..1023.
  std::string skip_reason(const MaterialMeta& m) const;

  // Writes the whole sequence (sequence_length(N) tokens, no padding) for the patch at `origin` whose
  // P³ density values (C order) are `patch_density`, and the P³ density bins (the targets).
  void encode(const MaterialMeta& m, const Grid& origin, const float* patch_density, int32_t* tokens,
              int32_t* bins) const;

  // Density tokens → density values (e/Å³), by the codec's levels.
  void decode_density(const int32_t* density_tokens, size_t n, float* values) const;

 private:
  int patch_, max_len_;
  LmqCodec codec_;
};

// Materials left out of a run and why: collected while loading, printed by every command that loads data.
struct SkipReport {
  std::map<std::string, std::vector<std::string>> ids_by_reason;
  size_t considered = 0;
  size_t skipped() const;
  void print(std::ostream& os, const std::string& what) const;  // nothing when nothing was skipped
};

// The materials of `ids` that the tokenizer accepts — and, given `residual_over`, whose elements that atomic-density fit
// knows (the residual target needs ρ_atoms); the others go into `report`.
std::vector<std::string> tokenizable_ids(const std::vector<std::string>& ids,
                                         const std::function<const MaterialMeta&(const std::string&)>& meta,
                                         const V3Tokenizer& tokenizer, SkipReport& report,
                                         const AtomicDensity* residual_over = nullptr);

}  // namespace rhotrain
