#include "sampler/patch_source.h"

namespace rhotrain {

StorePatchSource::StorePatchSource(std::shared_ptr<const MaterialStore> store, std::vector<std::string> ids)
    : store_(std::move(store)), ids_(std::move(ids)) {
  for (const auto& id : ids_) metas_.push_back(&store_->meta(id));
}

void StorePatchSource::read_patch(size_t i, const Grid& origin, int patch, float* out) const {
  store_->read_patch(ids_[i], origin, patch, out);
}

}  // namespace rhotrain
