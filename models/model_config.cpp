#include "models/model_config.h"

#include "common/error.h"

namespace rhotrain {

void apply_model_preset(const std::string& name, ModelConfig& c) {
  if (name == "tiny") {  // trains usefully in minutes on 2 CPU cores; one layer learned more per CPU minute than 2 or 3
    c.d_model = 96, c.layers = 1, c.heads = 4, c.kv_heads = 4, c.ffn = 256, c.geometry_bias = true;
  } else if (name == "30M") {  // source study: hidden 512, 6 layers, 4 heads, ffn 2048
    c.d_model = 512, c.layers = 6, c.heads = 4, c.kv_heads = 4, c.ffn = 2048;
  } else if (name == "200M") {  // source study: hidden 1024, 12 layers, 16 heads, ffn 4096
    c.d_model = 1024, c.layers = 12, c.heads = 16, c.kv_heads = 16, c.ffn = 4096;
  } else {
    throw Error("unknown model preset '" + name + "' (known: tiny, 30M, 200M)");
  }
}

}  // namespace rhotrain
