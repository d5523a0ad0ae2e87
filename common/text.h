// Small text helpers for what rhotrain prints.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace rhotrain {

// "1 material", "3 materials".
inline std::string count_of(size_t n, const std::string& noun) { return std::to_string(n) + " " + noun + (n == 1 ? "" : "s"); }

// Up to `most` of `candidates` that a mistyped `word` probably meant, closest first: those within a third of its length
// in edits (at least 2), ignoring case, and those that contain it or that it contains (a fragment or an extension of an id).
std::vector<std::string> closest_matches(const std::string& word, const std::vector<std::string>& candidates, size_t most = 3);
// " (did you mean 'a' or 'b'?)", or "" when nothing is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace rhotrain
