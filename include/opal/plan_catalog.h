// The hardware the training planner can choose from: GPU types, instance (node) types with their
// prices, and what a user can actually get (a cluster file with counts per type).
//
// Units everywhere in the planner: seconds, bytes, FLOP, bytes/s, FLOP/s, US dollars. Catalog
// files use the units written in their field names (memory_gb, tensor_tflops, ...) and are
// converted when read. Every GPU and instance entry carries a `source` (and instances a
// `price_date`) saying where its numbers come from; loading rejects entries without one.
//
// Errors: a missing file is kNotFound, unreadable kIo, malformed JSON or a field with the wrong
// type/sign kInvalidModel naming the file and entry, an unknown GPU name in a cluster file
// kInvalidArgument listing the known names. Plain value types; not thread-safe for writes.
#pragma once

#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/status.h"

namespace opal::plan {

// Achieved bandwidth of a link as a function of message size: a polynomial in
// x = log2(bytes / 1e6) giving GB/s, capped at `peak` (bytes/s). With no coefficients, `peak`
// alone is used. This is the format of Sailor's measured network curves.
struct LinkCurve {
  std::vector<double> coeffs;  // highest power first, GB/s
  double peak = 0;             // bytes/s
  // Bytes/s for one message of `bytes` (> 0); never below 2% of peak.
  double Bandwidth(double bytes) const;
  // Seconds to move `bytes` once over the link (0 for bytes <= 0).
  double Seconds(double bytes) const;
};

struct GpuType {
  std::string name;         // "A100-80"
  double memory = 0;        // bytes of device memory
  double tensor_flops = 0;  // dense fp16/bf16 peak, FLOP/s (tensor cores where present)
  double fp32_flops = 0;    // FLOP/s
  double mem_bw = 0;        // bytes/s
  LinkCurve intra;          // per-GPU link inside a node (NVLink / PCIe)
  LinkCurve inter;          // per-GPU share of the node's network, when measured
  std::string source;
};

struct InstanceType {
  std::string name;  // "p4de.24xlarge"
  std::string gpu;   // GpuType::name
  int gpus_per_node = 1;
  double network = 0;         // node network bandwidth, bytes/s
  double price_per_hour = 0;  // USD for the whole node, on demand
  std::string provider, price_date, source;
};

struct Catalog {
  std::vector<GpuType> gpus;
  std::vector<InstanceType> instances;

  const GpuType* FindGpu(const std::string& name) const;  // nullptr when absent
  const InstanceType* FindInstance(const std::string& name) const;
  // The cheapest instance (per GPU) of a GPU type; nullptr when there is none.
  const InstanceType* CheapestInstanceFor(const std::string& gpu) const;
  std::string GpuNames() const;  // "A100-40, A100-80, ..." for messages
  // Adds entries of a catalog JSON ({"gpus": [...], "instances": [...]}); an entry whose name
  // exists replaces it. `origin` names the file in messages.
  Status Merge(const Json& j, const std::string& origin);
};

// Directory of the shipped catalog (data/catalog of the source tree opal was built from), or
// the OPAL_CATALOG_DIR environment variable when set.
std::string DefaultCatalogDir();

// Reads a catalog JSON file.
Result<Catalog> LoadCatalog(const std::string& path);

// One pool of identical GPUs the planner may use: `count` GPUs of `gpu`, rented as `instance`.
struct Pool {
  GpuType gpu;
  InstanceType instance;
  int count = 0;
  double PricePerGpuHour() const { return instance.price_per_hour / instance.gpus_per_node; }
  // Link used between GPUs of this pool in different nodes (per GPU).
  LinkCurve InterLink() const;
};

struct Cluster {
  std::vector<Pool> pools;
  int TotalGpus() const;
};

// Cluster file: {"gpus": [...], "instances": [...]  (optional: add/override catalog entries),
//                "available": [{"gpu": "A100-80", "count": 64, "instance": "p4de.24xlarge"}]}
// ("instance" optional: the cheapest instance of that GPU in the catalog). Counts must be > 0.
// The catalog is updated with the file's own entries.
Result<Cluster> LoadCluster(const std::string& path, Catalog* catalog);
Result<Cluster> ClusterFromJson(const Json& j, Catalog* catalog, const std::string& origin);

// Reads measured link curves in Sailor's network_coeffs format ({"inter"|"intra": {GPU:
// {"k": [[a, b, c], peak_bytes_per_s]}}}) into the catalog's GPU types: inter from k = 1
// (one GPU of a node sending), intra from the smallest k. GPUs not in the file keep theirs.
Status ApplySailorNetwork(const std::string& path, Catalog* catalog);

}  // namespace opal::plan
