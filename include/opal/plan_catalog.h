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

#include <map>
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
  double tf32_flops = 0;    // dense TF32 tensor peak, FLOP/s (fp32 matrix products); 0: none
  double mem_bw = 0;        // bytes/s
  // What the GPU operator model (opal/gpu_op_model.h) reads besides the peaks; 0 when the
  // catalog entry does not say (catalog fields sms, l2_mb, compute_capability).
  int sms = 0;                 // streaming multiprocessors
  double l2_bytes = 0;         // L2 cache
  int compute_capability = 0;  // 70 for 7.0
  LinkCurve intra;             // per-GPU link inside a node (NVLink / PCIe), from the catalog
  // Measured intra-node curves by the number k of GPUs taking part (Sailor's "intra" entries).
  std::map<int, LinkCurve> intra_by_k;
  // Measured node-to-node curves, by the number k of the node's GPUs sending at once: each
  // curve gives the node's aggregate bandwidth when k GPUs each send messages of the size
  // asked (Sailor's network_coeffs "inter" entries). Empty: the instance's network alone.
  std::map<int, LinkCurve> inter_by_k;
  std::string source;
  // The intra-node link of a collective among `gpus` GPUs of a node: the curve measured for the
  // largest count not above it (the smallest measured when all are above), else `intra`.
  LinkCurve IntraLink(int gpus) const;
  // Peak of the matrix products for elements of `dtype_bytes` (2: fp16/bf16 tensor cores; 4:
  // TF32 tensor cores where the GPU has them, else the fp32 units).
  double MatmulPeak(int dtype_bytes) const {
    return dtype_bytes == 2 ? tensor_flops : (tf32_flops > 0 ? tf32_flops : fp32_flops);
  }
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
  // Aggregate bytes/s leaving (or entering) one node of this pool when `flows` of its GPUs each
  // move messages of `bytes_per_flow` to other nodes at once: the measured curve for that many
  // senders (linear between measured counts, the largest count's curve beyond it), never above
  // the instance's network. Without curves: the instance's network.
  double NodeBandwidth(int flows, double bytes_per_flow) const;
  // Seconds for `flows` GPUs of one node to each move `bytes_per_flow` to other nodes at once, in
  // messages of `message_bytes` (0: one message).
  double NodeSeconds(int flows, double bytes_per_flow, double message_bytes = 0) const;
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
// {"k": [[a, b, c], peak_bytes_per_s]}}}) into the catalog's GPU types: every measured count k
// of both kinds (inter_by_k, intra_by_k), and `intra` from the smallest k. GPUs not in the file
// keep theirs.
Status ApplySailorNetwork(const std::string& path, Catalog* catalog);

}  // namespace opal::plan
