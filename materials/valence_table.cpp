#include "materials/valence_table.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace rhotrain {

std::optional<double> ValenceTable::expected(const std::vector<int>& numbers) const {
  double sum = 0;
  for (int z : numbers) {
    const auto it = electrons.find(z);
    if (it == electrons.end()) return std::nullopt;
    sum += it->second;
  }
  return sum;
}

ValenceTable fit_valence_table(const std::vector<const MaterialMeta*>& set) {
  if (set.empty()) throw Error("cannot fit electrons per element on an empty set");
  std::map<int, int> column;
  for (const auto* m : set)
    for (int z : m->numbers) column.emplace(z, 0);
  int c = 0;
  for (auto& [z, col] : column) col = c++;
  Eigen::MatrixXd counts = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(set.size()), c);
  Eigen::VectorXd integral(static_cast<Eigen::Index>(set.size()));
  for (size_t i = 0; i < set.size(); ++i) {
    for (int z : set[i]->numbers) counts(static_cast<Eigen::Index>(i), column[z]) += 1;
    integral(static_cast<Eigen::Index>(i)) = set[i]->n_electrons_grid;
  }
  const Eigen::VectorXd fit = counts.colPivHouseholderQr().solve(integral);
  ValenceTable table;
  table.materials = set.size();
  for (const auto& [z, col] : column) {
    const double v = fit(col);
    table.electrons[z] = std::abs(v - std::round(v)) < 0.02 ? std::round(v) : v;
  }
  for (size_t i = 0; i < set.size(); ++i)
    table.max_residual = std::max(table.max_residual, std::abs(set[i]->n_electrons_grid - *table.expected(set[i]->numbers)));
  return table;
}

}  // namespace rhotrain
