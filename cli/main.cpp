// rhotrain: one binary, one subcommand per job: data preparation, tokenization, training, logs.
// Every error from any layer arrives here as an exception and leaves as one line: exit code 2 for a command line
// the command cannot take, 1 for anything else.
#include <torch/version.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "materials/store.h"
#include "trainer/distributed.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

const Command kCommands[] = {
    {"synth", rhotrain::cmd_synth, "generate the synthetic default dataset into a store"},
    {"import", rhotrain::cmd_import, "import CHGCAR / Gaussian cube files into a store"},
    {"export", rhotrain::cmd_export, "write a stored material as CHGCAR or cube"},
    {"split", rhotrain::cmd_split, "write seeded train / val / val_200 splits"},
    {"info", rhotrain::cmd_info, "summarise a store: splits, atoms, grids, electrons"},
    {"fit-codec", rhotrain::cmd_fit_codec, "fit the LMQ density codec and print its floor"},
    {"fit-atoms", rhotrain::cmd_fit_atoms, "fit the atomic-density baseline and print its NMAE"},
    {"tokenize", rhotrain::cmd_tokenize, "one v3 token sequence as JSON, or a bulk .npy export"},
    {"preview", rhotrain::cmd_preview, "Phase 0: patches per material under each weighting"},
    {"train", rhotrain::cmd_train, "train a density transformer (one run of the study)"},
    {"eval", rhotrain::cmd_eval, "evaluate a checkpoint (or the oracle) on a set"},
    {"experiment", rhotrain::cmd_experiment, "the whole study: data, Phase 0, K seeds of both arms, report"},
    {"compare", rhotrain::cmd_compare, "Phase 1 vs Phase 2 report with H1-H3 (K seeds per arm)"},
    {"logs", rhotrain::cmd_logs, "scalars from runs' TensorBoard event files"},
    {"predict", rhotrain::cmd_predict, "a trained model's density for new structures, as CHGCAR, cube or store"},
    {"plot", rhotrain::cmd_plot, "a PNG of a density (and a prediction) on a lattice plane"},
};

void usage(std::ostream& os) {
  os << "usage: rhotrain <command> [options]   (rhotrain <command> --help for its options; rhotrain --version)\n\n"
        "commands:\n";
  for (const auto& c : kCommands) os << "  " << c.name << std::string(11 - std::strlen(c.name), ' ') << c.summary << "\n";
}

// One line on the terminal (LibTorch errors append a C++ backtrace after the first), naming the rank when a
// launcher started several.
// A rank that fails leaves at once: the process group's destructors could wait on the peers it gave up on.
int fail(const char* command, const std::string& what, int code) {
  const auto& group = rhotrain::process_group();
  const std::string rank = group.world() > 1 ? " (rank " + std::to_string(group.rank()) + ")" : "";
  std::fprintf(rhotrain::error_stream(), "rhotrain %s%s: error: %s\n", command, rank.c_str(), what.substr(0, what.find('\n')).c_str());
  // So does a process in which a store file failed to close: HDF5 would crash closing it again at exit.
  if (group.world() > 1 || rhotrain::hdf5_shutdown_unsafe()) {
    std::fflush(nullptr);
    _exit(code);
  }
  return code;
}

// LibTorch's OpenMP threads (libgomp) spin for ~300 000 rounds before they sleep when they wait: on cores another
// process is using, a spinning waiter holds a core its peer needs, and two trainings on two cores made 19 % of the
// alone rate each (README, "Performance"). 1000 rounds keep the alone rate and let the cores be shared. libgomp reads
// its settings when it loads, before main, so the commands that compute start themselves again with the setting in the
// environment — unless the user chose a wait policy or spin count already.
void share_cores_politely(char** argv) {
  static const char* const kComputing[] = {"train", "experiment", "eval", "predict"};
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;
  if (std::none_of(std::begin(kComputing), std::end(kComputing), [&](const char* c) { return !std::strcmp(argv[1], c); })) return;
  setenv("GOMP_SPINCOUNT", "1000", 1);
  std::fflush(nullptr);
  execv("/proc/self/exe", argv);  // where that fails, the command runs with libgomp's default
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered even when redirected, so a log keeps stdout's tables in order with stderr's progress lines.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  share_cores_politely(argv);
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "rhotrain " << RHOTRAIN_VERSION << " (LibTorch " << TORCH_VERSION << ")\n";
    return 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    std::string prog = std::string("rhotrain ") + c.name;
    argv[1] = prog.data();
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const cxxopts::exceptions::exception& e) {
      return fail(c.name, e.what() + std::string(" (see rhotrain ") + c.name + " --help)", 2);
    } catch (const rhotrain::UsageError& e) {
      return fail(c.name, e.what() + std::string(" (see rhotrain ") + c.name + " --help)", 2);
    } catch (const std::exception& e) {
      return fail(c.name, e.what(), 1);
    } catch (...) {
      return fail(c.name, "an exception that is not a std::exception (a library's own type)", 1);
    }
  }
  std::cerr << "rhotrain: error: unknown command '" << argv[1] << "'\n";
  usage(std::cerr);
  return 2;
}
