// Operator-level GPU knowledge for the planner: GPU operator samples read from the store (or from
// DeepBench files), the GPU operator model (opal/gpu_op_model.h) over the catalog's GPU types,
// and the check of layer times built from operators against measured per-layer profiles.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opal/deepbench.h"
#include "opal/gpu_op_model.h"
#include "opal/plan_catalog.h"
#include "opal/plan_model.h"
#include "opal/plan_perf.h"
#include "opal/record_store.h"
#include "opal/status.h"
#include "opal/target.h"

namespace opal::plan {

// The operator model's view of a catalog GPU type.
GpuSpec GpuSpecOf(const GpuType& gpu);
// GpuSpecOf of every catalog GPU type, by name.
std::map<std::string, GpuSpec> GpuSpecs(const Catalog& catalog);

// The "aliases" of a GPU target file (targets.json): other names of catalog GPU types in imported
// measurements ({"V100": "V100-16"}); empty when the file has none. kInvalidModel when an alias
// is not a string.
Result<std::map<std::string, std::string>> LoadGpuAliases(const std::string& path);
// `targets` with every alias added under its own name (an alias of a GPU without a target is
// skipped).
std::map<std::string, Target> WithAliases(std::map<std::string, Target> targets,
                                          const std::map<std::string, std::string>& aliases);

// One sample per (workload, GPU type) with valid records on the GPU type's exact target: the
// fastest record (as TopK picks it), for every workload the operator model reads (dense,
// batch_matmul, conv2d; others are skipped). GPU types without a target have none.
Result<std::vector<GpuOpSample>> StoreGpuOpSamples(RecordStore& store, const Catalog& catalog,
                                                   const std::map<std::string, Target>& targets);

// Samples of DeepBench rows, GPU names mapped through `aliases` to catalog names: every GEMM, and
// every convolution's three passes (the backward passes, which have no workload kind, included).
// kInvalidArgument for a GPU name that is neither a catalog GPU nor an alias.
Result<std::vector<GpuOpSample>> DeepBenchGpuOpSamples(
    const DeepBenchData& data, const Catalog& catalog,
    const std::map<std::string, std::string>& aliases);

// Layer times built from operators against measured profiles: for every GPU type with a profile
// of the model, every measured micro-batch size and tensor-parallel degree and every transformer
// block, the forward and backward time from `ops` (StoreSource: records where the store has
// them, the operator model where not) against the profile's. Per GPU type: the MAPE of forward
// and backward over its blocks, the number of products measured and predicted; then the MAPE
// over all GPU types. JSON:
//   {"gpus": {GPU: {"blocks": n, "fwd_mape": %, "bwd_mape": %, "mape": %, "products_measured":
//    n, "products_predicted": n}}, "mape": %, "fwd_mape": %, "bwd_mape": %}
Json CompareLayersWithProfiles(const ModelSpec& model, const ProfileSource& profiles,
                               const StoreSource& ops, const Catalog& catalog);

}  // namespace opal::plan
