#include "common/text.h"

#include <algorithm>
#include <cctype>

namespace rhotrain {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Levenshtein distance.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string> closest_matches(const std::string& word, const std::vector<std::string>& candidates, size_t most) {
  const std::string w = lower(word);
  const size_t limit = std::max<size_t>(2, w.size() / 3);
  std::vector<std::pair<size_t, std::string>> near;
  for (const auto& candidate : candidates) {
    const std::string c = lower(candidate);
    const bool contains = w.size() >= 3 && (c.find(w) != std::string::npos || w.find(c) != std::string::npos);
    const size_t d = contains ? std::max(c.size(), w.size()) - std::min(c.size(), w.size()) : edit_distance(w, c);
    if (contains || d <= limit) near.emplace_back(d, candidate);
  }
  std::sort(near.begin(), near.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < near.size() && out.size() < most; ++i) out.push_back(near[i].second);
  return out;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string hint;
  for (const auto& near : closest_matches(word, candidates)) hint += (hint.empty() ? " (did you mean " : " or ") + ("'" + near + "'");
  return hint.empty() ? "" : hint + "?)";
}

}  // namespace rhotrain
