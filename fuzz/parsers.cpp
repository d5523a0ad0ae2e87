#include "fuzz/parsers.h"

#include "common/error.h"
#include "materials/chgcar.h"
#include "materials/cube.h"
#include "trainer/events.h"
#include "trainer/run_config.h"
#include "trainer/settings.h"
#include "trainer/train_state.h"

namespace rhotrain::fuzz {

const std::map<std::string, std::string>& targets() {
  static const std::map<std::string, std::string> all = {
      {"chgcar", "CHGCAR reader (read_chgcar)"},
      {"cube", "Gaussian cube reader (read_cube)"},
      {"poscar", "POSCAR / CONTCAR reader (read_vasp_structure)"},
      {"config", "YAML run config and its settings (RunConfig::merge_file, run_settings)"},
      {"events", "TensorBoard event file reader (read_event_file)"},
      {"state", "checkpoint training state (read_train_state)"},
  };
  return all;
}

void parse_as(const std::string& target, const std::string& path) {
  if (target == "chgcar") {
    read_chgcar(path);
  } else if (target == "cube") {
    read_cube(path);
  } else if (target == "poscar") {
    read_vasp_structure(path);
  } else if (target == "config") {
    RunConfig config;
    config.merge_file(path);
    run_settings(config);
  } else if (target == "events") {
    read_event_file(path);
  } else if (target == "state") {
    read_train_state(path);
  } else {
    throw Error("no fuzz target '" + target + "'");
  }
}

}  // namespace rhotrain::fuzz
