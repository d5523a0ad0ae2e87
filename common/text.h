// Small text helpers for what rhotrain prints.
#pragma once
#include <cstddef>
#include <string>

namespace rhotrain {

// "1 material", "3 materials".
inline std::string count_of(size_t n, const std::string& noun) { return std::to_string(n) + " " + noun + (n == 1 ? "" : "s"); }

}  // namespace rhotrain
