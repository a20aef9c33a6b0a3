// The terms of a training iteration's time and of a GPU's memory, one function each, shared by
// EstimatePlan (plan by plan), the search (incrementally) and the replay, so that all of them
// score a plan identically. Each is pinned to a hand-computed case in iteration_terms_test.cc;
// docs/planner.md derives them.
//
// The execution modelled is DeepSpeed's pipeline engine over Megatron layers (what Sailor's
// measured plans ran): every stage holds one or more replicas (data parallelism; replicas may sit
// on different GPU types), each replica is tp GPUs of one node (tensor parallelism: the layer
// times of the profiles already include it, as measured per tp degree). Sends and receives
// between stages block the stage (1F1B with blocking p2p); the gradient all-reduce and the
// optimizer step follow the last backward and do not overlap it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "opal/plan.h"

namespace opal::plan {

// --- Compute -----------------------------------------------------------------------------------

// Splits `samples` of a micro-batch between replica groups of unequal speed so that the slowest
// replica is as fast as it can be: `seconds(g, n)` is the time of one replica of group g on n
// samples (non-decreasing in n); every replica gets at least one sample and all replicas of a
// group the same number. Returns the samples per replica of each group, or an empty vector when
// the samples cannot be split so (fewer samples than replicas, or a remainder no group fits).
// Greedy: each step gives one more sample to each replica of the group that would finish
// soonest with it (optimal when groups are single replicas; a close heuristic otherwise).
std::vector<int> SplitSamples(int samples, const std::vector<int>& replicas,
                              const std::function<double(int, int)>& seconds);

// --- Communication -----------------------------------------------------------------------------

// GPUs of one node that move data at the same time for a group of `replicas` replicas of `tp`
// GPUs: its GPUs on one node, at most a node.
int FlowsPerNode(const Pool& pool, int tp, int replicas);
// Replicas of a group on one node (at least one).
int ReplicasPerNode(const Pool& pool, int tp, int replicas);

// One micro-batch's activation (or its gradient) crossing from a replica of stage s to one of
// stage s+1, for one side (the sender's node or the receiver's). DeepSpeed's pipeline engine (as
// Sailor runs it) sends the activation in tensor-parallel slices one after another, so a transfer
// moves the whole activation of the replica's samples over one GPU's link at a time, in messages
// of a slice; the replicas of the stage on the node transfer at once. `split_by_tp`: Megatron-LM's
// scatter/gather instead, every rank sending its slice at the same time.
double P2pSideSeconds(const Pool& pool, int replicas_on_node, int tp, double activation_bytes,
                      bool split_by_tp);

// One stage boundary: the slowest side of the slowest pair of replica groups sets the time of a
// transfer (replicas transfer in parallel on their own nodes).
struct GroupAt {
  const Pool* pool = nullptr;
  ReplicaGroup group;  // samples filled
};
double P2pSeconds(const std::vector<GroupAt>& from, const std::vector<GroupAt>& to,
                  double out_bytes_per_sample, bool split_by_tp);

// Gradient all-reduce of one stage across its replicas (`groups`, possibly on different GPU
// types and nodes): `grad_bytes` is the size of the stage's whole gradient (every parameter,
// before tensor-parallel sharding). With R replicas, each of the tp shards is a ring over the R
// replicas (NCCL's algorithm for large buffers), so every node's network carries 2 (R-1)/R of the
// stage's gradient, from all its GPUs of the stage at once, in chunks of grad / (tp R); the
// slowest node (its network, for the number of its GPUs sending) sets the pace. A stage whose
// replicas all share one node reduces over the intra-node link instead. `hierarchical`: reduce
// inside each node first, so the network carries 2 (N-1)/N over N nodes. `at_peak`: every link
// at its peak bandwidth, whatever the message size: a lower bound linear in grad_bytes (the
// search's bounds use it per layer).
double GradAllReduceSeconds(const std::vector<GroupAt>& groups, double grad_bytes,
                            bool hierarchical, bool at_peak = false);

// Sum of the gradients of the parameters shared by the first and the last stage (a tied
// embedding and LM projection): a 2-member all-reduce between each first-stage replica and its
// last-stage partner, each side's node moving the tied gradient once (in tp shards).
double TiedAllReduceSeconds(const std::vector<GroupAt>& first, const std::vector<GroupAt>& last,
                            double tied_bytes);

// --- Schedule ----------------------------------------------------------------------------------

// Per-stage figures of one micro-batch, seconds.
struct StageTimes {
  double fwd = 0, bwd = 0;
  double p2p_out = 0;  // one transfer to the next stage (0 on the last stage)
  double tail = 0;     // after the last backward: tied all-reduce + gradient all-reduce + step
};
// Iteration of M micro-batches under 1F1B with blocking transfers (each boundary's transfer
// occupies both of its stages: a stage's cycle is c_s = F_s + B_s + 2 (p_in + p_out)):
//   T = sum_s (F_s + B_s) + 2 sum_s p_s + (M - 1) max_s c_s + max_s tail_s
// Exact for stages of equal cycle; the simulator checks the rest event by event.
double PipelineSeconds(const std::vector<StageTimes>& stages, int num_micro);
// The same iteration split into the terms of PipelineSeconds (PipelineTerms; Total() is
// PipelineSeconds). The replay reports it per plan.
PipelineTerms PipelineSecondsTerms(const std::vector<StageTimes>& stages, int num_micro);

// --- Memory ------------------------------------------------------------------------------------

// Memory of one GPU of a stage replica: the reserve of its GPU type, the model state of its shard
// ((state bytes per parameter + the coefficients' extra) x params / tp), the activations of the
// micro-batches in flight (the coefficients' scale x inflight x samples x (sharded / tp +
// replicated)) and the send/receive buffers of one micro-batch's activation.
struct StageMemoryInput {
  double params = 0, act_sharded = 0, act_replicated = 0, out_bytes = 0;  // per sample / stage
  double act_exact = 0;  // per sample, divided by tp, outside the activation scale
  int tp = 1, samples = 1, inflight = 1;
  double state_bytes_per_param = 16;
};
MemoryParts StageMemoryParts(const StageMemoryInput& in, const GpuType& gpu);
// Bytes of `parts` under the options' reserve and memory coefficients.
double MemoryBytes(const MemoryParts& parts, const CostOptions& options);
// The same as MemoryBytes(StageMemoryParts(in, gpu), options), without building the parts.
double StageMemoryBytes(const StageMemoryInput& in, const GpuType& gpu, const CostOptions& options);

}  // namespace opal::plan
