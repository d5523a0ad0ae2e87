// Reading a JSON file (checkpoint state, the fixtures' manifest) with the project's one-line error
// naming the file when it is missing or not valid JSON.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace rhotrain {

nlohmann::json read_json_file(const std::string& path);  // throws Error("<path>: ...")

}  // namespace rhotrain
