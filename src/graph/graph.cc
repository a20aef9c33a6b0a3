#include "opal/graph.h"

#include <algorithm>
#include <deque>
#include <set>

namespace opal {

const char* Attribute::KindName(Kind k) {
  switch (k) {
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "string";
    case Kind::kTensor: return "tensor";
    case Kind::kInts: return "ints";
    case Kind::kFloats: return "floats";
    case Kind::kStrings: return "strings";
    case Kind::kGraph: return "graph";
    case Kind::kOther: return "other";
  }
  return "other";
}

const Attribute* Attributes::Find(const std::string& name) const {
  auto it = map_.find(name);
  return it == map_.end() ? nullptr : &it->second;
}

int64_t Attributes::GetInt(const std::string& name, int64_t dflt) const {
  const Attribute* a = Find(name);
  return a && a->kind == Attribute::Kind::kInt ? a->i : dflt;
}

double Attributes::GetFloat(const std::string& name, double dflt) const {
  const Attribute* a = Find(name);
  if (a && a->kind == Attribute::Kind::kFloat) return a->f;
  if (a && a->kind == Attribute::Kind::kInt) return static_cast<double>(a->i);
  return dflt;
}

std::string Attributes::GetString(const std::string& name, const std::string& dflt) const {
  const Attribute* a = Find(name);
  return a && a->kind == Attribute::Kind::kString ? a->s : dflt;
}

std::vector<int64_t> Attributes::GetInts(const std::string& name, std::vector<int64_t> dflt) const {
  const Attribute* a = Find(name);
  return a && a->kind == Attribute::Kind::kInts ? a->ints : dflt;
}

std::vector<double> Attributes::GetFloats(const std::string& name, std::vector<double> dflt) const {
  const Attribute* a = Find(name);
  return a && a->kind == Attribute::Kind::kFloats ? a->floats : dflt;
}

ValueId Graph::AddValue(Value v) {
  auto id = static_cast<ValueId>(values_.size());
  if (!v.name.empty()) by_name_[v.name] = id;
  values_.push_back(std::move(v));
  return id;
}

NodeId Graph::AddNode(Node n) {
  auto id = static_cast<NodeId>(nodes_.size());
  for (ValueId o : n.outputs) {
    if (o != kNoValue) values_.at(static_cast<size_t>(o)).producer = id;
  }
  nodes_.push_back(std::move(n));
  return id;
}

std::optional<ValueId> Graph::FindValue(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<NodeId> Graph::Consumers(ValueId id) const {
  std::vector<NodeId> out;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const auto& ins = nodes_[n].inputs;
    if (std::find(ins.begin(), ins.end(), id) != ins.end()) out.push_back(static_cast<NodeId>(n));
  }
  return out;
}

Status Graph::TopologicalSort() {
  const size_t n = nodes_.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<size_t>> users(n);
  for (size_t i = 0; i < n; ++i) {
    std::set<NodeId> deps;
    for (ValueId in : nodes_[i].inputs) {
      if (in == kNoValue) continue;
      NodeId p = values_.at(static_cast<size_t>(in)).producer;
      if (p >= 0) deps.insert(p);
    }
    pending[i] = static_cast<int>(deps.size());
    for (NodeId p : deps) users[static_cast<size_t>(p)].push_back(i);
  }
  // Kahn's algorithm; ties keep the original order so the result is deterministic.
  std::set<size_t> ready;
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  std::vector<size_t> order;
  order.reserve(n);
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (size_t u : users[i]) {
      if (--pending[u] == 0) ready.insert(u);
    }
  }
  if (order.size() != n) {
    // Walk back from a blocked node along blocked producers until a node repeats: that is a cycle.
    size_t start = 0;
    while (pending[start] == 0) ++start;
    std::vector<size_t> path;
    std::vector<int> seen_at(n, -1);
    size_t cur = start;
    while (seen_at[cur] < 0) {
      seen_at[cur] = static_cast<int>(path.size());
      path.push_back(cur);
      size_t next = cur;
      for (ValueId in : nodes_[cur].inputs) {
        if (in == kNoValue) continue;
        NodeId p = values_[static_cast<size_t>(in)].producer;
        if (p >= 0 && pending[static_cast<size_t>(p)] > 0) {
          next = static_cast<size_t>(p);
          break;
        }
      }
      cur = next;
    }
    std::string cycle;
    for (size_t k = static_cast<size_t>(seen_at[cur]); k < path.size(); ++k) {
      cycle = "'" + nodes_[path[k]].name + "'" + (cycle.empty() ? "" : " -> ") + cycle;
    }
    cycle += " -> '" + nodes_[cur].name + "'";
    return Error(ErrorCode::kInvalidModel, "graph has a cycle: {}", cycle);
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  for (size_t i : order) sorted.push_back(std::move(nodes_[i]));
  nodes_ = std::move(sorted);
  for (auto& v : values_) v.producer = -1;
  for (size_t i = 0; i < n; ++i) {
    for (ValueId o : nodes_[i].outputs) {
      if (o != kNoValue) values_[static_cast<size_t>(o)].producer = static_cast<NodeId>(i);
    }
  }
  return Status::Ok();
}

void Graph::RemoveNodes(const std::vector<NodeId>& ids) {
  std::set<NodeId> drop(ids.begin(), ids.end());
  std::vector<Node> kept;
  kept.reserve(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!drop.count(static_cast<NodeId>(i))) kept.push_back(std::move(nodes_[i]));
  }
  nodes_ = std::move(kept);
  for (auto& v : values_) v.producer = -1;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (ValueId o : nodes_[i].outputs) {
      if (o != kNoValue) values_[static_cast<size_t>(o)].producer = static_cast<NodeId>(i);
    }
  }
}

std::map<std::string, int> Graph::UnsupportedOps() const {
  std::map<std::string, int> out;
  for (const auto& n : nodes_) {
    if (!n.supported) {
      ++out[n.domain.empty() || n.domain == "ai.onnx" ? n.op_type : n.domain + "::" + n.op_type];
    }
  }
  return out;
}

}  // namespace opal
