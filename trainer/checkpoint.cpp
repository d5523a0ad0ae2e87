#include "trainer/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

std::vector<std::pair<int64_t, std::string>> complete_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    if (!fs::exists(e.path() / "state.json")) continue;
    out.emplace_back(std::stoll(name.substr(5)), e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void save_checkpoint(const std::string& run_dir, const TrainState& state, DensityTransformer& model,
                     torch::optim::Optimizer& optimizer, const std::string& config_yaml, int keep) {
  const fs::path final_dir = fs::path(run_dir) / "checkpoints" / ("step-" + std::to_string(state.step));
  // Skipped updates keep the weights finite; this guards what a checkpoint holds should anything else let one through.
  for (const auto& item : model->named_parameters())
    if (!torch::isfinite(item.value()).all().template item<bool>())
      throw Error(final_dir.string() + ": not written, parameter " + item.key() + " holds a non-finite value");
  fs::create_directories(final_dir.parent_path());
  PendingFile pending(final_dir.string());
  const fs::path tmp = pending.temp_path();
  try {
    fs::create_directories(tmp);
    // Serialised in memory, then written by us: LibTorch's file writer aborts the process when the disk fills up (it
    // throws from a destructor), where our own write names the file and the reason.
    std::ostringstream model_bytes, optimizer_bytes;
    torch::save(model, model_bytes);
    torch::save(optimizer, optimizer_bytes);
    write_text_file_atomic((tmp / "model.pt").string(), model_bytes.str());
    write_text_file_atomic((tmp / "optimizer.pt").string(), optimizer_bytes.str());
    for (const char* file : {"codec.h5", "atoms.h5"}) {
      std::error_code ec;
      fs::copy_file(fs::path(run_dir) / file, tmp / file, ec);
      if (ec) throw Error((tmp / file).string() + ": cannot write (" + ec.message() + ")");
    }
    write_text_file_atomic((tmp / "config.yaml").string(), config_yaml);
    // state.json last: its presence marks the checkpoint complete.
    write_text_file_atomic((tmp / "state.json").string(), train_state_json(state));
  } catch (const Error& e) {  // named as the checkpoint, not as its temporary folder
    throw Error(pending.as_final(e.what()));
  }
  if (fs::exists(final_dir)) fs::remove_all(final_dir);
  pending.commit();
  auto all = complete_checkpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(std::max(keep, 1)) < all.size(); ++i) fs::remove_all(all[i].second);
}

std::optional<std::string> latest_checkpoint(const std::string& run_dir) {
  auto all = complete_checkpoints(run_dir);
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

std::string checkpoint_at(const std::string& run_dir, int64_t step) {
  for (const auto& [s, path] : complete_checkpoints(run_dir))
    if (s == step) return path;
  throw Error(run_dir + ": no complete checkpoint at step " + std::to_string(step));
}

std::string find_checkpoint(const std::string& run_dir, const std::string& step) {
  if (step != "last") {
    size_t used = 0;
    int64_t n = -1;
    try {
      n = std::stoll(step, &used);
    } catch (const std::exception&) {
    }
    if (n < 0 || used != step.size()) throw Error("--step must be a step number or 'last', not '" + step + "'");
    return checkpoint_at(run_dir, n);
  }
  const auto last = latest_checkpoint(run_dir);
  if (!last) throw Error(run_dir + ": no complete checkpoint");
  return *last;
}

RunConfig read_checkpoint_config(const std::string& dir) {
  return RunConfig::from_resolved_file((fs::path(dir) / "config.yaml").string());
}

LmqCodec read_checkpoint_codec(const std::string& dir) { return LmqCodec::load((fs::path(dir) / "codec.h5").string()); }

std::shared_ptr<const AtomicDensity> read_checkpoint_atoms(const std::string& dir) {
  const fs::path path = fs::path(dir) / "atoms.h5";
  if (!fs::exists(path)) return nullptr;
  return std::make_shared<const AtomicDensity>(AtomicDensity::load(path.string()));
}

void load_model(const std::string& dir, DensityTransformer& model) {
  const std::string path = (fs::path(dir) / "model.pt").string();
  try {
    torch::load(model, path);
  } catch (const c10::Error& e) {
    // Parameter names follow the module tree (blocks.0.q.weight, …); checkpoints written before it (layer0_q.weight)
    // or for another model shape lack some of them.
    const std::string what = e.what_without_backtrace();
    const size_t missing = what.find("No such serialized");
    if (missing != std::string::npos)
      throw Error(path + ": " + what.substr(missing, what.find('\n', missing) - missing) +
                  ": the checkpoint is of another model shape, or from a rhotrain older than its module tree (retrain it)");
    throw Error(path + ": cannot load model weights (config does not match the checkpoint?): " + what.substr(0, 200));
  }
}

void load_optimizer(const std::string& dir, torch::optim::Optimizer& optimizer) {
  const std::string path = (fs::path(dir) / "optimizer.pt").string();
  try {
    torch::load(optimizer, path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot load optimizer state: " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
}

}  // namespace rhotrain
