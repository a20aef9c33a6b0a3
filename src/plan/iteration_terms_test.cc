// Each term of the iteration and memory model against a case computed by hand.
#include "plan/iteration_terms.h"

#include <gtest/gtest.h>

namespace opal::plan {
namespace {

// A pool of `per_node`-GPU nodes whose network is measured flat at `gbs_by_k` GB/s for k senders.
Pool NetPool(const std::string& name, int per_node, std::map<int, double> gbs_by_k,
             double network_gbs, double intra_gbs = 100) {
  Pool p;
  p.gpu.name = name;
  p.gpu.memory = 80e9;
  p.gpu.intra.peak = intra_gbs * 1e9;
  for (const auto& [k, g] : gbs_by_k) p.gpu.inter_by_k[k] = LinkCurve{{}, g * 1e9};
  p.instance.gpus_per_node = per_node;
  p.instance.network = network_gbs * 1e9;
  p.count = 1 << 20;
  return p;
}

TEST(IterationTerms, SamplesGoToTheFasterReplicaUntilBothFinishTogether) {
  // Replica 0 takes 1 s per sample, replica 1 takes 2 s: 6 samples split 4 / 2 finish at 4 s.
  auto t = [](int g, int n) { return n * (g == 0 ? 1.0 : 2.0); };
  EXPECT_EQ(SplitSamples(6, {1, 1}, t), (std::vector<int>{4, 2}));
  // Two replicas of the fast kind and one slow: 7 samples, 3 each on the fast ones, 1 on the
  // slow one (every one done by 3 s; 2 / 2 / 3 would take the slow one 6 s).
  EXPECT_EQ(SplitSamples(7, {2, 1}, t), (std::vector<int>{3, 1}));
  // 5 samples over two groups of two: a remainder no group can take evenly.
  EXPECT_TRUE(SplitSamples(5, {2, 2}, t).empty());
  EXPECT_TRUE(SplitSamples(1, {1, 1}, t).empty());  // fewer samples than replicas
}

TEST(IterationTerms, NodeBandwidthFollowsTheSenderCountAndTheNodeNetwork) {
  Pool p = NetPool("a", 8, {{1, 10}, {4, 25}}, 100);
  EXPECT_DOUBLE_EQ(p.NodeBandwidth(1, 1e6), 10e9);
  EXPECT_DOUBLE_EQ(p.NodeBandwidth(4, 1e6), 25e9);
  EXPECT_DOUBLE_EQ(p.NodeBandwidth(2, 1e6), 15e9);  // 1/3 of the way from 1 to 4 senders
  EXPECT_DOUBLE_EQ(p.NodeBandwidth(8, 1e6), 25e9);  // more senders than measured: saturated
  // 4 GPUs each sending 100 MB at 25 GB/s in all: 16 ms.
  EXPECT_DOUBLE_EQ(p.NodeSeconds(4, 100e6), 0.016);
  Pool capped = NetPool("b", 8, {{4, 25}}, 20);  // the node's network is slower than measured
  EXPECT_DOUBLE_EQ(capped.NodeBandwidth(4, 1e6), 20e9);
  Pool unmeasured = NetPool("c", 8, {}, 12.5);  // no curve: the instance's network
  EXPECT_DOUBLE_EQ(unmeasured.NodeSeconds(2, 25e6), 0.004);
}

TEST(IterationTerms, ATransferMovesTheActivationOverOneLinkInSlices) {
  Pool p = NetPool("a", 8, {{1, 10}, {4, 25}}, 100);
  EXPECT_EQ(FlowsPerNode(p, 4, 1), 4);
  EXPECT_EQ(FlowsPerNode(p, 4, 3), 8);  // a node holds at most 8 of them
  EXPECT_EQ(ReplicasPerNode(p, 4, 3), 2);
  EXPECT_EQ(ReplicasPerNode(p, 1, 2), 2);
  // tp 4, 100 MB activation: its 4 slices one after another over one link, 100 MB / 10 GB/s =
  // 10 ms; Megatron's split (the 4 ranks at once, 25 MB each over 25 GB/s in all): 4 ms.
  EXPECT_DOUBLE_EQ(P2pSideSeconds(p, 1, 4, 100e6, false), 0.01);
  EXPECT_DOUBLE_EQ(P2pSideSeconds(p, 1, 4, 100e6, true), 0.004);
  // Two replicas of the stage on the node transfer at once: 2 x 100 MB over 15 GB/s.
  EXPECT_DOUBLE_EQ(P2pSideSeconds(p, 2, 4, 100e6, false), 200e6 / 15e9);
  // A boundary between a replica on `a` (tp 4) and one on a slow pool (tp 1, 1 GB/s): the slow
  // receiver sets it, 100 MB / 1 GB/s; 2 samples of 50 MB each.
  Pool slow = NetPool("s", 1, {{1, 1}}, 10);
  std::vector<GroupAt> from{{&p, ReplicaGroup{0, 4, 1, 2}}}, to{{&slow, ReplicaGroup{1, 1, 1, 2}}};
  EXPECT_DOUBLE_EQ(P2pSeconds(from, to, 50e6, false), 0.1);
}

TEST(IterationTerms, GradientAllReduceIsPacedByTheSlowestNode) {
  Pool fast = NetPool("f", 4, {{4, 25}}, 100), slow = NetPool("s", 4, {{4, 5}}, 100);
  // Two tp-4 replicas on two 4-GPU nodes, 1 GB of gradient: each node carries 2 (2-1)/2 of it
  // over 25 GB/s = 40 ms.
  std::vector<GroupAt> two{{&fast, ReplicaGroup{0, 4, 2, 1}}};
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(two, 1e9, false), 0.04);
  // One replica on each pool: the slow node's 5 GB/s sets it, 200 ms.
  std::vector<GroupAt> mixed{{&fast, ReplicaGroup{0, 4, 1, 1}}, {&slow, ReplicaGroup{1, 4, 1, 1}}};
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(mixed, 1e9, false), 0.2);
  // Four tp-2 replicas in one 8-GPU node: each of the 2 shards' rings on the 100 GB/s link,
  // 2 (4-1)/4 x 0.5 GB / 100 GB/s = 7.5 ms.
  Pool big = NetPool("b", 8, {{8, 25}}, 100);
  std::vector<GroupAt> inside{{&big, ReplicaGroup{0, 2, 4, 1}}};
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(inside, 1e9, false), 0.0075);
  // Four tp-4 replicas on two 8-GPU nodes: the ring moves 2 (4-1)/4 = 1.5 GB per node (60 ms);
  // reduced inside the nodes first, 2 (2-1)/2 = 1 GB (40 ms).
  std::vector<GroupAt> spread{{&big, ReplicaGroup{0, 4, 4, 1}}};
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(spread, 1e9, false), 0.06);
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(spread, 1e9, true), 0.04);
  std::vector<GroupAt> one{{&fast, ReplicaGroup{0, 4, 1, 1}}};
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(one, 1e9, false), 0);  // nothing to reduce
}

TEST(IterationTerms, GradientAllReduceAtPeakIsALinearLowerBound) {
  // A node whose curve gives 1 GB/s at any message size under a 25 GB/s peak: two tp-4 replicas
  // reduce 1 GB in 1 s; at the peak (the search's bound), 40 ms, and linear in the bytes.
  Pool p = NetPool("c", 4, {}, 100);
  p.gpu.inter_by_k[4] = LinkCurve{{1.0}, 25e9};
  std::vector<GroupAt> two{{&p, ReplicaGroup{0, 4, 2, 1}}};
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(two, 1e9, false), 1.0);
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(two, 1e9, false, true), 0.04);
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(two, 3e9, false, true), 0.12);
  // Inside one node: the intra-node link's peak (100 GB/s): 2 (2-1)/2 x 0.5 GB = 5 ms.
  Pool big = NetPool("b", 8, {{8, 25}}, 100);
  std::vector<GroupAt> inside{{&big, ReplicaGroup{0, 2, 2, 1}}};
  EXPECT_DOUBLE_EQ(GradAllReduceSeconds(inside, 1e9, false, true), 0.005);
}

TEST(IterationTerms, TiedGradientCrossesEachSideOnce) {
  Pool fast = NetPool("f", 4, {{4, 25}}, 100), slow = NetPool("s", 4, {{4, 1}}, 100);
  std::vector<GroupAt> first{{&fast, ReplicaGroup{0, 4, 1, 1}}},
      last{{&slow, ReplicaGroup{1, 4, 1, 1}}};
  // 100 MB of tied gradient in 4 shards: 4 ms on the fast side, 100 ms on the slow one.
  EXPECT_DOUBLE_EQ(TiedAllReduceSeconds(first, {}, 100e6), 0.004);
  EXPECT_DOUBLE_EQ(TiedAllReduceSeconds(first, last, 100e6), 0.1);
}

TEST(IterationTerms, PipelineOfTwoStages) {
  // F 1, B 2, one 0.5 s transfer between them, tails 0.3 and 0.1, 4 micro-batches:
  // sum(F+B) 6 + 2 x 0.5 + (4-1) x (3 + 2 x 0.5) + 0.3 = 19.3.
  std::vector<StageTimes> st{{1, 2, 0.5, 0.3}, {1, 2, 0, 0.1}};
  EXPECT_DOUBLE_EQ(PipelineSeconds(st, 4), 19.3);
  // One stage: M (F+B) + tail.
  EXPECT_DOUBLE_EQ(PipelineSeconds({{1, 2, 0, 0.5}}, 4), 12.5);
}

TEST(IterationTerms, MemoryOfOneGpu) {
  GpuType g;
  g.name = "X";
  g.memory = 80e9;
  StageMemoryInput in;
  in.params = 1e9;
  in.act_sharded = 1e8;
  in.act_replicated = 1e7;
  in.out_bytes = 1e6;
  in.tp = 4;
  in.samples = 2;
  in.inflight = 3;
  in.state_bytes_per_param = 16;
  MemoryParts p = StageMemoryParts(in, g);
  EXPECT_DOUBLE_EQ(p.state, 4e9);          // 16 B x 1e9 / 4
  EXPECT_DOUBLE_EQ(p.activations, 2.1e8);  // 3 x 2 x (1e8 / 4 + 1e7)
  EXPECT_DOUBLE_EQ(p.buffers, 4e6);        // 2 x 2 x 1e6
  CostOptions o;
  o.reserve_bytes = 2e9;
  EXPECT_DOUBLE_EQ(MemoryBytes(p, o), 2e9 + 4e9 + 2.1e8 + 4e6);  // unfitted
  o.memory.activation_scale = 0.5;
  o.memory.state_extra_bytes = 4;
  o.memory.reserve["X"] = 1e9;
  EXPECT_DOUBLE_EQ(MemoryBytes(p, o), 1e9 + 4e9 + 1e9 + 1.05e8 + 4e6);
  EXPECT_DOUBLE_EQ(StageMemoryBytes(in, g, o), MemoryBytes(p, o));  // the search's shortcut
  // The head's logits are kept exactly: 3 x 2 x 8e7 / 4, outside the activation scale.
  in.act_exact = 8e7;
  p = StageMemoryParts(in, g);
  EXPECT_DOUBLE_EQ(p.exact, 1.2e8);
  EXPECT_DOUBLE_EQ(MemoryBytes(p, o), 1e9 + 4e9 + 1e9 + 1.05e8 + 1.2e8 + 4e6);
  EXPECT_DOUBLE_EQ(StageMemoryBytes(in, g, o), MemoryBytes(p, o));
}

}  // namespace
}  // namespace opal::plan
