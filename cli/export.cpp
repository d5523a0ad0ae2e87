// rhotrain export: one stored material as a CHGCAR (VASP 5) or Gaussian cube file.
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "materials/density_file.h"
#include "materials/store.h"

namespace rhotrain {

int cmd_export(int argc, char** argv) {
  cxxopts::Options opts("rhotrain export", "Write one material of a store as a CHGCAR or Gaussian cube file.");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("id", "material id (rhotrain info --ids lists them)", cxxopts::value<std::string>())
      ("format", "chgcar | cube (default: cube for a .cube name, else chgcar)", cxxopts::value<std::string>())
      ("o,out", "output file (.gz compresses; missing folders are created)", cxxopts::value<std::string>());
  opts.add_options(kAliases)("output", "", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const std::string out = required<std::string>(r, "out", "output");
  const std::string format = choice("format", given<std::string>(r, "format").value_or(density_format_name(density_format_for_name(out))),
                                    {"chgcar", "cube"});
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const Material m = store.read(required<std::string>(r, "id"));
  write_density_file(m, out, format == "cube" ? DensityFormat::cube : DensityFormat::chgcar);
  std::cout << "wrote " << out << " (" << m.id << ", " << format << ")\n";
  return 0;
}

}  // namespace rhotrain
