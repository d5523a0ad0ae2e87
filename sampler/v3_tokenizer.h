// The v3 tokenizer: one material + one P³ patch origin → one token sequence (layout in shared/DESIGN.md):
// BOS | GRID | LATTICE | ATOMS | POS | DENS_START d_1 … d_P³ DENS_END | EOS, plus the inverse helpers.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "materials/material.h"
#include "sampler/lmq_codec.h"

namespace rhotrain {

namespace v3 {
constexpr int32_t PAD = 0, BOS = 1, EOS = 2, ATOMS_START = 3, ATOMS_END = 4, POS_START = 5, POS_END = 6,
                  GRID_START = 7, GRID_END = 8, DENS_START = 15, DENS_END = 16, NL = 17, LATTICE_START = 18,
                  LATTICE_END = 19;
constexpr int32_t kSpecials = 20;
constexpr int32_t kAtomOffset = 20;  // Z = 1..118 → 20..137
constexpr int32_t kIntOffset = 138, kIntValues = 1024;
constexpr int32_t kPosOffset[3] = {1162, 1674, 1930};  // sub-vocabularies of 512, 256, 256
constexpr int32_t kDensOffset = 2186;
constexpr double kLatticeStep = 0.05;  // Å per integer token
constexpr double kAngleStep = 0.2;     // degrees per integer token
constexpr double kPosMinLog10 = -4.0;
constexpr uint32_t kPosMaxBin = (1u << 24) - 1;

inline int dens_start(size_t n_atoms) { return static_cast<int>(10 * n_atoms + 18); }

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
  int sequence_length(size_t n_atoms) const { return static_cast<int>(10 * n_atoms + 21) + patch_voxels(); }

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

// The materials of `ids` that the tokenizer accepts; the others go into `report`.
std::vector<std::string> tokenizable_ids(const std::vector<std::string>& ids,
                                         const std::function<const MaterialMeta&(const std::string&)>& meta,
                                         const V3Tokenizer& tokenizer, SkipReport& report);

}  // namespace rhotrain
