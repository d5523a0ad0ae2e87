// rhotrain export: one stored material as a CHGCAR (VASP 5) or Gaussian cube file.
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/files.h"
#include "materials/chgcar.h"
#include "materials/cube.h"
#include "materials/store.h"

namespace rhotrain {

int cmd_export(int argc, char** argv) {
  cxxopts::Options opts("rhotrain export", "Write one material of a store as a CHGCAR or Gaussian cube file.");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("id", "material id", cxxopts::value<std::string>())
      ("format", "chgcar | cube", cxxopts::value<std::string>())
      ("o,output", "output file (.gz compresses)", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const std::string format = required<std::string>(r, "format");
  if (format != "chgcar" && format != "cube") throw Error("--format must be chgcar or cube, not '" + format + "'");
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const Material m = store.read(required<std::string>(r, "id"));
  const std::string out = required<std::string>(r, "output");
  write_text_file_atomic(out, format == "chgcar" ? format_chgcar(m) : format_cube(m));
  std::cout << "wrote " << out << " (" << m.id << ", " << format << ")\n";
  return 0;
}

}  // namespace rhotrain
