#include "lower/kernel_groups.h"

#include <algorithm>
#include <queue>
#include <set>

#include "lower/elementwise_expr.h"
#include "lower/lowering.h"
#include "opal/contraction.h"
#include "opal/tasks.h"

namespace opal::lower {
namespace {

// Fused nodes per group at most: keeps each kernel's description and compile time bounded.
constexpr size_t kMaxMembers = 48;

// True when every dim of `s` is 1 or equal to the trailing-aligned dim of `out`.
bool BroadcastsInto(const Shape& s, const Shape& out) {
  if (s.size() > out.size()) return false;
  for (size_t j = 0; j < s.size(); ++j)
    if (s[j] != 1 && s[j] != out[out.size() - s.size() + j]) return false;
  return true;
}

class GroupGrower {
 public:
  GroupGrower(const Graph& g, const std::vector<std::vector<NodeId>>& readers, const std::vector<int>& group_of)
      : g_(g), readers_(readers), group_of_(group_of) {}

  // Grows the group of `anchor` (a contraction with an epilogue, or a pointwise node).
  KernelGroup Grow(NodeId anchor, bool contraction) {
    const ValueId out = g_.node(anchor).outputs[0];
    const Shape& shape = g_.value(out).shape;
    std::set<ValueId> values = {out};
    std::vector<NodeId> members = {anchor};
    std::priority_queue<NodeId, std::vector<NodeId>, std::greater<NodeId>> queue;
    std::set<NodeId> seen;
    auto push_readers = [&](ValueId v) {
      for (NodeId r : readers_[static_cast<size_t>(v)])
        if (seen.insert(r).second) queue.push(r);
    };
    push_readers(out);
    while (!queue.empty() && members.size() < kMaxMembers) {
      const NodeId c = queue.top();
      queue.pop();
      if (!Joins(c, shape, values, contraction)) continue;
      // A sibling that computes one of c's operands for c alone (Exp(r) in Tanh(r) + Exp(r)) is
      // computed in the same pass instead of being written and read back.
      for (size_t i : PointwiseDataInputs(g_.node(c))) {
        const ValueId v = g_.node(c).inputs[i];
        const NodeId p = g_.value(v).producer;
        if (values.count(v) || p <= anchor || readers_[static_cast<size_t>(v)].size() != 1 || g_.value(v).is_graph_output ||
            !Sibling(p, shape, contraction))
          continue;
        members.push_back(p);
        values.insert(v);
      }
      members.push_back(c);
      values.insert(g_.node(c).outputs[0]);
      push_readers(g_.node(c).outputs[0]);
    }
    std::sort(members.begin(), members.end());
    return Cut(members);
  }

 private:
  bool Joins(NodeId c, const Shape& shape, const std::set<ValueId>& values, bool contraction) const {
    const Node& n = g_.node(c);
    if (group_of_[static_cast<size_t>(c)] >= 0 || NeedsNoKernel(g_, n) || !IsPointwiseNode(g_, n)) return false;
    const Value& o = g_.value(n.outputs[0]);
    if (o.shape != shape || (contraction && o.dtype != DType::kFloat32)) return false;
    bool reads_group = false;
    for (size_t i : PointwiseDataInputs(n)) {
      const ValueId v = n.inputs[i];
      if (values.count(v)) {
        reads_group = true;
        continue;
      }
      const Value& in = g_.value(v);
      if (!BroadcastsInto(in.shape, shape)) return false;
    }
    return reads_group;
  }

  // True when pointwise node p, outside any group, can be computed in this group from operands
  // read from memory only.
  bool Sibling(NodeId p, const Shape& shape, bool contraction) const {
    const Node& n = g_.node(p);
    if (group_of_[static_cast<size_t>(p)] >= 0 || NeedsNoKernel(g_, n) || !IsPointwiseNode(g_, n)) return false;
    const Value& o = g_.value(n.outputs[0]);
    if (o.shape != shape || (contraction && o.dtype != DType::kFloat32)) return false;
    for (size_t i : PointwiseDataInputs(n))
      if (!BroadcastsInto(g_.value(n.inputs[i]).shape, shape)) return false;
    return true;
  }

  // The longest prefix of `members` whose values are read outside it through one value only, the
  // output of its last member (so the kernel, run at that member's place, is not late for anyone).
  KernelGroup Cut(const std::vector<NodeId>& members) const {
    KernelGroup best{members[0], {members[0]}, g_.node(members[0]).outputs[0]};
    for (size_t k = 2; k <= members.size(); ++k) {
      const std::set<NodeId> in(members.begin(), members.begin() + static_cast<long>(k));
      ValueId exposed = kNoValue;
      int count = 0;
      for (size_t i = 0; i < k; ++i) {
        const ValueId v = g_.node(members[i]).outputs[0];
        bool outside = g_.value(v).is_graph_output;
        for (NodeId r : readers_[static_cast<size_t>(v)]) outside = outside || !in.count(r);
        if (outside) {
          exposed = v;
          ++count;
        }
      }
      if (count == 1 && exposed == g_.node(members[k - 1]).outputs[0]) best = KernelGroup{members[0], std::vector<NodeId>(members.begin(), members.begin() + static_cast<long>(k)), exposed};
    }
    return best;
  }

  const Graph& g_;
  const std::vector<std::vector<NodeId>>& readers_;
  const std::vector<int>& group_of_;
};

}  // namespace

bool TakesEpilogue(const Graph& g, const Node& n) {
  if (!n.domain.empty() || (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul")) return false;
  if (n.outputs.size() != 1 || n.outputs[0] == kNoValue) return false;
  if (g.value(n.outputs[0]).dtype != DType::kFloat32) return false;
  auto w = WorkloadOfNode(g, n);
  return w.ok() && w->has_value() && tune::SupportedWorkload(**w);
}

bool NeedsNoKernel(const Graph& g, const Node& n) {
  bool all_const = true;
  for (ValueId v : n.outputs) all_const = all_const && (v == kNoValue || g.value(v).constant);
  return all_const || IsAliasNode(g, n);
}

std::vector<KernelGroup> PlanKernelGroups(const Graph& g, bool fuse) {
  std::vector<std::vector<NodeId>> readers(g.num_values());
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    std::set<ValueId> read;
    for (ValueId v : g.node(id).inputs)
      if (v != kNoValue && read.insert(v).second) readers[static_cast<size_t>(v)].push_back(id);
  }
  std::vector<int> group_of(g.num_nodes(), -1);
  std::vector<KernelGroup> groups;
  GroupGrower grower(g, readers, group_of);
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    const Node& n = g.node(id);
    if (group_of[static_cast<size_t>(id)] >= 0 || NeedsNoKernel(g, n)) continue;
    KernelGroup grp{id, {id}, n.outputs.empty() ? kNoValue : n.outputs[0]};
    const bool contraction = TakesEpilogue(g, n);
    if (fuse && (contraction || IsPointwiseNode(g, n))) grp = grower.Grow(id, contraction);
    for (NodeId m : grp.members) group_of[static_cast<size_t>(m)] = static_cast<int>(groups.size());
    groups.push_back(std::move(grp));
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const KernelGroup& a, const KernelGroup& b) { return a.members.back() < b.members.back(); });
  return groups;
}

}  // namespace opal::lower
