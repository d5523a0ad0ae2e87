// The v3 token layout as numbers: vocabulary offsets, where each part of a sequence of N atoms sits, and the
// scales of its integer and position tokens. The tokenizer writes sequences by it and the model reads them by it;
// it depends on nothing, so the model does not link the tokenizer.
//
//   BOS | GRID_START nx ny nz GRID_END | LATTICE_START a b c α β γ LATTICE_END | ATOMS_START Z_1 … Z_N ATOMS_END |
//   POS_START (3 tokens × 3 coords) × N POS_END | DENS_START d_1 … d_P³ DENS_END | EOS
#pragma once
#include <cstddef>
#include <cstdint>

namespace rhotrain::v3 {

// Vocabulary.
constexpr int32_t PAD = 0, BOS = 1, EOS = 2, ATOMS_START = 3, ATOMS_END = 4, POS_START = 5, POS_END = 6,
                  GRID_START = 7, GRID_END = 8, DENS_START = 15, DENS_END = 16, NL = 17, LATTICE_START = 18,
                  LATTICE_END = 19;
constexpr int32_t kSpecials = 20;
constexpr int32_t kAtomOffset = 20;  // Z = 1..118 → 20..137
constexpr int32_t kIntOffset = 138, kIntValues = 1024;
constexpr int32_t kPosOffset[3] = {1162, 1674, 1930};  // sub-vocabularies of 512, 256, 256
constexpr int32_t kDensOffset = 2186;

// Scales: integer tokens count lattice lengths and angles in these steps; a position token triple is a 24-bit
// bin of log10 of the coordinate on [kPosMinLog10, 0].
constexpr double kLatticeStep = 0.05;  // Å per integer token
constexpr double kAngleStep = 0.2;     // degrees per integer token
constexpr double kPosMinLog10 = -4.0;
constexpr uint32_t kPosMaxBin = (1u << 24) - 1;

// Places in a sequence.
constexpr int kGridIndex = 2;               // nx ny nz at 2, 3, 4
constexpr int kLatticeIndex = 7;            // a b c α β γ at 7 … 12
constexpr int kSpeciesIndex = 15;           // Z_1 … Z_N at 15 … 14 + N
constexpr int kTokensPerAtom = 10;          // one species token and nine position tokens
constexpr int kPositionTokensPerAtom = 9;   // 3 coordinates × 3 bytes, atom after atom
constexpr int kPositionBase = 17;           // the first position token sits at 17 + N
constexpr int kDensStartBase = 18;          // DENS_START sits at 10N + 18
constexpr int kFrameTokens = 21;            // tokens of a sequence that are neither atoms nor density

constexpr int first_position_index(size_t n_atoms) { return kPositionBase + static_cast<int>(n_atoms); }
constexpr int dens_start(size_t n_atoms) { return kTokensPerAtom * static_cast<int>(n_atoms) + kDensStartBase; }
constexpr int sequence_length(size_t n_atoms, int patch_voxels) {
  return kTokensPerAtom * static_cast<int>(n_atoms) + kFrameTokens + patch_voxels;
}

}  // namespace rhotrain::v3
