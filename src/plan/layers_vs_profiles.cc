// Layer times built from operators against measured per-layer profiles
// (CompareLayersWithProfiles, include/opal/plan_gpu_ops.h).
#include <cmath>

#include "opal/plan_gpu_ops.h"

namespace opal::plan {
namespace {

struct Acc {
  double fwd = 0, bwd = 0;
  int64_t n = 0, measured = 0, predicted = 0;
  void Add(double pf, double mf, double pb, double mb) {
    fwd += std::fabs(pf - mf) / mf;
    bwd += std::fabs(pb - mb) / mb;
    ++n;
  }
  Json ToJson() const {
    const double d = n ? static_cast<double>(n) : 1;
    return Json{{"blocks", n},
                {"fwd_mape", 100 * fwd / d},
                {"bwd_mape", 100 * bwd / d},
                {"mape", 50 * (fwd + bwd) / d},
                {"products_measured", measured},
                {"products_predicted", predicted}};
  }
};

}  // namespace

Json CompareLayersWithProfiles(const ModelSpec& model, const ProfileSource& profiles,
                               const StoreSource& ops, const Catalog& catalog) {
  Json out{{"gpus", Json::object()}};
  Acc all;
  for (const auto& name : profiles.Gpus()) {
    const GpuType* gpu = catalog.FindGpu(name);
    if (!gpu) continue;
    Acc acc;
    for (int tp : {1, 2, 4, 8}) {
      const auto* table = profiles.Table(name, tp);
      if (!table) continue;
      for (const auto& [mbs, layers] : *table) {
        for (size_t i = 0; i < layers.size() && i < model.layers.size(); ++i) {
          if (model.layers[i].name.rfind("block", 0) != 0) continue;
          if (!(layers[i].fwd > 0) || !(layers[i].bwd > 0)) continue;
          auto b = ops.Explain(model, static_cast<int>(i), *gpu, mbs, tp);
          if (!b.time) continue;
          acc.Add(b.time->fwd, layers[i].fwd, b.time->bwd, layers[i].bwd);
          for (const auto& t : b.gemms) {
            acc.predicted += t.predicted;
            acc.measured += 3 - t.predicted;
          }
        }
      }
    }
    if (acc.n == 0) continue;
    out["gpus"][name] = acc.ToJson();
    all.fwd += acc.fwd;
    all.bwd += acc.bwd;
    all.n += acc.n;
  }
  const Json a = all.ToJson();
  out["mape"] = a["mape"];
  out["fwd_mape"] = a["fwd_mape"];
  out["bwd_mape"] = a["bwd_mape"];
  out["blocks"] = all.n;
  return out;
}

}  // namespace opal::plan
