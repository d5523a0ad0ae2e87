// The parsers of files a user hands rhotrain, each as one function of one file: what the libFuzzer targets feed
// mutated bytes to, and what tests/fuzz_regression_test.cpp feeds every kept crasher to. A parser may refuse its
// input only with rhotrain::Error; any other exception, a crash, a hang or an unbounded allocation is a finding.
#pragma once
#include <map>
#include <string>

namespace rhotrain::fuzz {

// Parses the file at `path` as the target named `target` (chgcar, cube, poscar, config, events, state) and returns
// normally or throws rhotrain::Error. For state, `path` is a checkpoint folder holding state.json.
void parse_as(const std::string& target, const std::string& path);

// The targets, each with what it parses.
const std::map<std::string, std::string>& targets();

}  // namespace rhotrain::fuzz
