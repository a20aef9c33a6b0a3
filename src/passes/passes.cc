#include "passes/passes.h"

namespace opal::passes {

Result<std::vector<PassStats>> RunBuildPasses(Graph& g) {
  struct Pass {
    const char* name;
    Result<PassStats> (*run)(Graph&);
  };
  static constexpr Pass kPasses[] = {{"remove-identities", RemoveIdentities},
                                     {"fold-batchnorm", FoldBatchNorm},
                                     {"batchnorm-as-affine", BatchNormAsAffine},
                                     {"fuse-layernorm", FuseLayerNorm},
                                     {"eliminate-dead-code", EliminateDeadCode}};
  std::vector<PassStats> out;
  for (const Pass& pass : kPasses) {
    auto stats = pass.run(g);
    if (!stats.ok()) return stats.status().WithContext(std::string("graph pass ") + pass.name);
    out.push_back(std::move(stats).value());
  }
  return out;
}

}  // namespace opal::passes
