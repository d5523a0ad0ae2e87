#include "sampler/v3_tokenizer.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/text.h"

namespace rhotrain {
namespace v3 {

void encode_position(double c, int32_t out[3]) {
  const bool negative = c < 0;
  const double a = std::fabs(c);
  uint32_t bin = 0;
  if (a >= 1e-15) {
    const double l = std::clamp(std::log10(a), kPosMinLog10, 0.0);
    bin = static_cast<uint32_t>((l - kPosMinLog10) / -kPosMinLog10 * kPosMaxBin);
  }
  out[0] = kPosOffset[0] + static_cast<int32_t>(bin >> 16) + (negative ? 256 : 0);
  out[1] = kPosOffset[1] + static_cast<int32_t>((bin >> 8) & 255);
  out[2] = kPosOffset[2] + static_cast<int32_t>(bin & 255);
}

double decode_position(const int32_t t[3]) {
  int32_t hi = t[0] - kPosOffset[0];
  const bool negative = hi >= 256;
  if (negative) hi -= 256;
  const uint32_t bin = (static_cast<uint32_t>(hi) << 16) | (static_cast<uint32_t>(t[1] - kPosOffset[1]) << 8) |
                       static_cast<uint32_t>(t[2] - kPosOffset[2]);
  if (bin == 0) return 0.0;
  const double v = std::pow(10.0, static_cast<double>(bin) / kPosMaxBin * -kPosMinLog10 + kPosMinLog10);
  return negative ? -v : v;
}

void lattice_parameters(const Eigen::Matrix3d& lattice, double lengths[3], double angles[3]) {
  const Eigen::Vector3d a = lattice.row(0), b = lattice.row(1), c = lattice.row(2);
  lengths[0] = a.norm();
  lengths[1] = b.norm();
  lengths[2] = c.norm();
  auto angle = [](const Eigen::Vector3d& u, const Eigen::Vector3d& v) {
    return std::acos(std::clamp(u.dot(v) / (u.norm() * v.norm()), -1.0, 1.0)) * 180.0 / M_PI;
  };
  angles[0] = angle(b, c);
  angles[1] = angle(a, c);
  angles[2] = angle(a, b);
}

}  // namespace v3

namespace {

// Integer tokens of the preamble: grid dims as-is, lengths in 0.05 Å, angles in 0.2°.
void integer_values(const MaterialMeta& m, long out[9]) {
  double lengths[3], angles[3];
  v3::lattice_parameters(m.lattice, lengths, angles);
  for (int d = 0; d < 3; ++d) {
    out[d] = m.grid[d];
    out[3 + d] = std::lround(lengths[d] / v3::kLatticeStep);
    out[6 + d] = std::lround(angles[d] / v3::kAngleStep);
  }
}

}  // namespace

V3Tokenizer::V3Tokenizer(int patch, const LmqCodec& codec, int max_len)
    : patch_(patch), max_len_(max_len), codec_(codec) {
  if (patch < 1 || patch > 64) throw Error("patch size must be in 1..64, not " + std::to_string(patch));
  if (max_len < sequence_length(1)) throw Error("max_len " + std::to_string(max_len) + " cannot hold even one atom at P=" + std::to_string(patch));
}

std::string V3Tokenizer::skip_reason(const MaterialMeta& m) const {
  if (sequence_length(m.n_atoms()) > max_len_)
    return "sequence longer than max_len " + std::to_string(max_len_) + " (too many atoms)";
  long v[9];
  integer_values(m, v);
  for (long x : v)
    if (x < 0 || x >= v3::kIntValues) return "integer token out of range 0..1023 (grid, lattice length or angle)";
  return "";
}

void V3Tokenizer::encode(const MaterialMeta& m, const Grid& origin, const float* patch_density, int32_t* t,
                         int32_t* bins) const {
  const size_t n = m.n_atoms();
  long v[9];
  integer_values(m, v);
  int32_t* p = t;
  *p++ = v3::BOS;
  *p++ = v3::GRID_START;
  for (int d = 0; d < 3; ++d) *p++ = v3::kIntOffset + static_cast<int32_t>(v[d]);
  *p++ = v3::GRID_END;
  *p++ = v3::LATTICE_START;
  for (int d = 3; d < 9; ++d) *p++ = v3::kIntOffset + static_cast<int32_t>(v[d]);
  *p++ = v3::LATTICE_END;
  *p++ = v3::ATOMS_START;
  for (int z : m.numbers) *p++ = v3::kAtomOffset + z - 1;
  *p++ = v3::ATOMS_END;
  *p++ = v3::POS_START;
  for (size_t a = 0; a < n; ++a)
    for (int d = 0; d < 3; ++d) {
      // Relative to the patch origin, wrapped into [0, 1).
      double c = m.frac_coords[a][d] - static_cast<double>(origin[d]) / m.grid[d];
      c -= std::floor(c);
      if (c >= 1.0) c = 0.0;
      v3::encode_position(c, p);
      p += 3;
    }
  *p++ = v3::POS_END;
  *p++ = v3::DENS_START;
  const int nv = patch_voxels();
  codec_.encode(patch_density, static_cast<size_t>(nv), bins);
  for (int i = 0; i < nv; ++i) *p++ = v3::kDensOffset + bins[i];
  *p++ = v3::DENS_END;
  *p++ = v3::EOS;
}

void V3Tokenizer::decode_density(const int32_t* tokens, size_t n, float* values) const {
  for (size_t i = 0; i < n; ++i) {
    const int bin = tokens[i] - v3::kDensOffset;
    if (bin < 0 || bin >= codec_.bins()) throw Error("token " + std::to_string(tokens[i]) + " is not a density token");
    values[i] = codec_.decode(bin);
  }
}

size_t SkipReport::skipped() const {
  size_t n = 0;
  for (const auto& [reason, ids] : ids_by_reason) n += ids.size();
  return n;
}

void SkipReport::print(std::ostream& os, const std::string& what) const {
  if (skipped() == 0) return;
  os << what << ": skipped " << skipped() << " of " << count_of(considered, "material") << "\n";
  for (const auto& [reason, ids] : ids_by_reason) {
    os << "  " << ids.size() << " × " << reason << " (e.g. " << ids.front();
    if (ids.size() > 1) os << ", " << ids[1];
    os << ")\n";
  }
}

std::vector<std::string> tokenizable_ids(const std::vector<std::string>& ids,
                                         const std::function<const MaterialMeta&(const std::string&)>& meta,
                                         const V3Tokenizer& tokenizer, SkipReport& report, const AtomicDensity* residual_over) {
  std::vector<std::string> kept;
  for (const auto& id : ids) {
    ++report.considered;
    std::string reason = tokenizer.skip_reason(meta(id));
    if (reason.empty() && residual_over)
      if (const std::string unseen = residual_over->unseen_elements(meta(id).numbers); !unseen.empty())
        reason = "an element the atomic-density fit never saw (" + unseen + ")";
    if (reason.empty())
      kept.push_back(id);
    else
      report.ids_by_reason[reason].push_back(id);
  }
  return kept;
}

}  // namespace rhotrain
