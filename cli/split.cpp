// rhotrain split: seeded train / val / val_200 splits written into a store (the first file of several).
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/text.h"
#include "materials/splits.h"
#include "materials/store.h"

namespace rhotrain {

int cmd_split(int argc, char** argv) {
  cxxopts::Options opts("rhotrain split", "Write seeded train / val / val_200 splits into a store.");
  opts.add_options()
      ("store", "store file(s); splits are written into the first", cxxopts::value<std::vector<std::string>>())
      ("val-fraction", "share of materials in val, in (0, 1)", cxxopts::value<double>()->default_value("0.1"))
      ("seed", "shuffle seed", cxxopts::value<uint64_t>()->default_value("0"));
  opts.add_options(kAliases)("stores", "", cxxopts::value<std::vector<std::string>>());
  auto r = parse_command(opts, argc, argv, {"stores"});
  const auto stores = store_arguments(r);
  const auto paths = expand_store_paths(stores);
  const double val_fraction = r["val-fraction"].as<double>();
  if (!(val_fraction > 0 && val_fraction < 1))
    throw UsageError("--val-fraction must be between 0 and 1, not " + std::to_string(val_fraction));
  const Splits s = make_splits(MaterialStore(paths, 0).ids(), val_fraction, r["seed"].as<uint64_t>());
  auto write = [&](StoreWriter& w) {
    w.write_split("train", s.train);
    w.write_split("val", s.val);
    w.write_split("val_200", s.val_200);
  };
  std::string target = paths.front();
  if (stores.size() == 1 && std::filesystem::is_directory(stores.front())) {
    // A directory store keeps its splits in one small file: only that file is replaced, never a shard.
    target = (std::filesystem::path(stores.front()) / "splits.h5").string();
    update_store(target, write, StorePart::splits);
  } else {
    // Every file loses its old copies of these splits; the first holds the new ones.
    for (size_t i = 0; i < paths.size(); ++i)
      update_store(paths[i], [&](StoreWriter& w) {
        for (const char* name : {"train", "val", "val_200"}) w.remove_split(name);
        if (i == 0) write(w);
      });
  }
  std::cout << "splits written to " << target << ": train=" << s.train.size() << " val=" << s.val.size()
            << " val_200=" << s.val_200.size() << " (seed " << r["seed"].as<uint64_t>() << ")\n";
  if (s.val.size() < kFixedEvalSize)
    std::cout << "note: val has only " << count_of(s.val.size(), "material") << ", so val_200 holds all of them\n";
  return 0;
}

}  // namespace rhotrain
