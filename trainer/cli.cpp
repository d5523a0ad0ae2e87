#include "trainer/cli.h"

#include <cstdlib>
#include <iostream>

namespace rhotrain {

cxxopts::ParseResult parse_command(cxxopts::Options& options, int argc, char** argv,
                                   const std::vector<std::string>& positional) {
  options.add_options()("h,help", "show this help");
  if (!positional.empty()) options.parse_positional(positional);
  auto result = options.parse(argc, argv);
  if (result.count("help")) {
    std::cout << options.help() << std::endl;
    std::exit(0);
  }
  if (!result.unmatched().empty())
    throw cxxopts::exceptions::exception("unexpected argument '" + result.unmatched().front() + "'");
  return result;
}

}  // namespace rhotrain
