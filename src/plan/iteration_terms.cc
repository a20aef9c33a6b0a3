// The terms of a training iteration and of a GPU's memory (see iteration_terms.h).
#include "plan/iteration_terms.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

namespace opal::plan {

std::vector<int> SplitSamples(int samples, const std::vector<int>& replicas,
                              const std::function<double(int, int)>& seconds) {
  const int G = static_cast<int>(replicas.size());
  int total = 0;
  for (int r : replicas) total += r;
  if (G == 0 || samples < total) return {};
  std::vector<int> n(G, 1);  // samples per replica of each group
  int left = samples - total;
  // Each step gives one more sample to every replica of the group whose replicas would finish
  // soonest with it, as long as the samples left cover all its replicas.
  while (left > 0) {
    int best = -1;
    double best_t = std::numeric_limits<double>::infinity();
    for (int g = 0; g < G; ++g) {
      if (replicas[g] > left) continue;
      double t = seconds(g, n[g] + 1);
      if (t < best_t) best_t = t, best = g;
    }
    if (best < 0) break;  // what is left does not cover any group: leave it to the last step
    n[best] += 1;
    left -= replicas[best];
  }
  if (left != 0) return {};
  return n;
}

int FlowsPerNode(const Pool& pool, int tp, int replicas) {
  return std::max(1, std::min(pool.instance.gpus_per_node, tp * replicas));
}

int ReplicasPerNode(const Pool& pool, int tp, int replicas) {
  return std::max(1, std::min(replicas, pool.instance.gpus_per_node / std::max(1, tp)));
}

double P2pSideSeconds(const Pool& pool, int replicas_on_node, int tp, double activation_bytes,
                      bool split_by_tp) {
  if (activation_bytes <= 0) return 0;
  if (split_by_tp) return pool.NodeSeconds(replicas_on_node * tp, activation_bytes / tp);
  return pool.NodeSeconds(replicas_on_node, activation_bytes, activation_bytes / tp);
}

double P2pSeconds(const std::vector<GroupAt>& from, const std::vector<GroupAt>& to,
                  double out_bytes_per_sample, bool split_by_tp) {
  double t = 0;
  for (const auto* side : {&from, &to})
    for (const GroupAt& g : *side)
      t = std::max(t,
                   P2pSideSeconds(*g.pool, ReplicasPerNode(*g.pool, g.group.tp, g.group.count),
                                  g.group.tp, out_bytes_per_sample * g.group.samples, split_by_tp));
  return t;
}

double GradAllReduceSeconds(const std::vector<GroupAt>& groups, double grad_bytes,
                            bool hierarchical, bool at_peak) {
  int replicas = 0, nodes = 0, tp = 0;
  for (const GroupAt& g : groups) {
    replicas += g.group.count;
    const int per_node = std::max(1, g.pool->instance.gpus_per_node / g.group.tp);
    nodes += (g.group.count + per_node - 1) / per_node;
    tp = tp == 0 ? g.group.tp : std::min(tp, g.group.tp);
  }
  if (replicas <= 1 || grad_bytes <= 0) return 0;
  const double R = replicas;
  if (nodes == 1) {  // all replicas in one node: each tp shard's ring on the intra-node link
    const GroupAt& g = groups.front();
    const LinkCurve link = g.pool->gpu.IntraLink(replicas * g.group.tp);
    return 2 * (R - 1) / R *
           (at_peak ? grad_bytes / tp / link.Bandwidth(0) : link.Seconds(grad_bytes / tp));
  }
  const double share = hierarchical ? 2.0 * (nodes - 1) / nodes : 2 * (R - 1) / R;
  // A curve's bandwidth at message size 0 is its peak (LinkCurve::Bandwidth).
  const double chunk = at_peak ? 0 : grad_bytes / (tp * R);
  double t = 0;
  for (const GroupAt& g : groups) {
    const int flows = FlowsPerNode(*g.pool, g.group.tp, g.group.count);
    t = std::max(t, share * grad_bytes / g.pool->NodeBandwidth(flows, chunk));
  }
  return t;
}

double TiedAllReduceSeconds(const std::vector<GroupAt>& first, const std::vector<GroupAt>& last,
                            double tied_bytes) {
  if (tied_bytes <= 0) return 0;
  double t = 0;
  for (const auto* side : {&first, &last})
    for (const GroupAt& g : *side) {
      const int tp = g.group.tp;
      // 2 members: each shard crosses once, (2 - 1) / 2 of it each way in the reduce-scatter
      // and the all-gather.
      t = std::max(t,
                   g.pool->NodeSeconds(FlowsPerNode(*g.pool, tp, g.group.count), tied_bytes / tp));
    }
  return t;
}

PipelineTerms PipelineSecondsTerms(const std::vector<StageTimes>& stages, int num_micro) {
  PipelineTerms t;
  double max_c = -1;
  const int S = static_cast<int>(stages.size());
  for (int s = 0; s < S; ++s) {
    const StageTimes& st = stages[s];
    const double p_in = s > 0 ? stages[s - 1].p2p_out : 0;
    t.fill_layers += st.fwd + st.bwd;
    t.fill_p2p += 2 * st.p2p_out;
    const double c = st.fwd + st.bwd + 2 * (p_in + st.p2p_out);
    if (c > max_c) {
      max_c = c;
      t.bottleneck = s;
      t.steady_p2p = (num_micro - 1) * 2 * (p_in + st.p2p_out);
    }
    t.tail = std::max(t.tail, st.tail);
  }
  t.steady = (num_micro - 1) * std::max(0.0, max_c);
  return t;
}

double PipelineSeconds(const std::vector<StageTimes>& stages, int num_micro) {
  return PipelineSecondsTerms(stages, num_micro).Total();
}

MemoryParts StageMemoryParts(const StageMemoryInput& in, const GpuType& gpu) {
  MemoryParts p;
  p.gpu = gpu.name;
  p.capacity = gpu.memory;
  p.params_per_gpu = in.params / in.tp;
  p.state = in.state_bytes_per_param * p.params_per_gpu;
  p.activations =
      in.inflight * static_cast<double>(in.samples) * (in.act_sharded / in.tp + in.act_replicated);
  p.exact = in.inflight * static_cast<double>(in.samples) * in.act_exact / in.tp;
  p.buffers = 2.0 * in.samples * in.out_bytes;
  return p;
}

namespace {

double Bytes(double reserve, double state, double params_per_gpu, double activations,
             double buffers, const MemoryCoefficients& k) {
  return reserve + state + k.state_extra_bytes * params_per_gpu + k.activation_scale * activations +
         buffers;
}

}  // namespace

double MemoryBytes(const MemoryParts& p, const CostOptions& options) {
  return Bytes(options.Reserve(p.gpu), p.state, p.params_per_gpu, p.activations,
               p.exact + p.buffers, options.memory);
}

double StageMemoryBytes(const StageMemoryInput& in, const GpuType& gpu,
                        const CostOptions& options) {
  const double params_per_gpu = in.params / in.tp;
  return Bytes(
      options.Reserve(gpu.name), in.state_bytes_per_param * params_per_gpu, params_per_gpu,
      in.inflight * static_cast<double>(in.samples) * (in.act_sharded / in.tp + in.act_replicated),
      in.inflight * static_cast<double>(in.samples) * in.act_exact / in.tp +
          2.0 * in.samples * in.out_bytes,
      options.memory);
}

}  // namespace opal::plan
