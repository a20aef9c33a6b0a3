#include "builder/value_storage.h"

#include <algorithm>
#include <map>
#include <optional>

namespace opal::build {
namespace {

int64_t Bytes(const Value& v) { return NumElements(v.shape) * static_cast<int64_t>(DTypeSize(v.dtype)); }

}  // namespace

ValueStorage::ValueStorage(const Graph& g) : g_(g) {
  const size_t n = g.num_values();
  link_.resize(n);
  for (size_t i = 0; i < n; ++i) link_[i] = {static_cast<ValueId>(i), 0};
  placed_.assign(n, false);
  in_place_.assign(g.num_nodes(), false);
  Normalise();
}

ValueStorage::Link ValueStorage::Find(ValueId v) const {
  int64_t off = 0;
  while (static_cast<size_t>(v) < link_.size() && link_[static_cast<size_t>(v)].parent != v) {
    off += link_[static_cast<size_t>(v)].offset;
    v = link_[static_cast<size_t>(v)].parent;
  }
  return {v, off};
}

void ValueStorage::Alias(ValueId out, ValueId in, int64_t offset) {
  link_[static_cast<size_t>(out)] = {in, offset};  // within `in`'s bytes: no block grows
}

bool ValueStorage::PlaceSliceAsView(NodeId id) {
  const Node& n = g_.node(id);
  if (n.op_type != "Slice" || n.outputs.size() != 1 || n.outputs[0] == kNoValue || n.inputs.empty()) return false;
  const Value& in = g_.value(n.inputs[0]);
  const Value& out = g_.value(n.outputs[0]);
  if (!in.shape_known || !out.shape_known || in.constant || out.constant || in.dtype != out.dtype) return false;
  const int r = static_cast<int>(in.shape.size());
  if (r == 0 || static_cast<int>(out.shape.size()) != r) return false;
  // starts / axes / steps: attributes before opset 10, constant inputs after.
  auto ints = [&](size_t i, const char* attr) -> std::optional<std::vector<int64_t>> {
    if (g_.opset < 10) return n.attrs.GetInts(attr, {});
    if (i >= n.inputs.size() || n.inputs[i] == kNoValue) return std::vector<int64_t>{};
    const auto& c = g_.value(n.inputs[i]).constant;
    if (!c) return std::nullopt;
    std::vector<int64_t> v;
    for (int64_t k = 0; k < c->size(); ++k) v.push_back(c->GetInt(k));
    return v;
  };
  auto starts = ints(1, "starts"), axes = ints(3, "axes"), steps = ints(4, "steps");
  if (!starts || !axes || !steps) return false;
  std::vector<int64_t> begin(static_cast<size_t>(r), 0);
  for (size_t k = 0; k < starts->size(); ++k) {
    int64_t a = axes->empty() ? static_cast<int64_t>(k) : (k < axes->size() ? (*axes)[k] : -1000);
    if (a < 0) a += r;
    if (a < 0 || a >= r) return false;
    if (!steps->empty() && (k >= steps->size() || (*steps)[k] != 1)) return false;
    const int64_t dim = in.shape[static_cast<size_t>(a)];
    int64_t st = (*starts)[k] < 0 ? (*starts)[k] + dim : (*starts)[k];
    begin[static_cast<size_t>(a)] = std::clamp<int64_t>(st, 0, dim);
  }
  // Contiguous: the first axis whose extent changes has only extent-1 axes before it and whole axes after.
  int first = -1;
  for (int d = 0; d < r; ++d)
    if (out.shape[static_cast<size_t>(d)] != in.shape[static_cast<size_t>(d)]) {
      first = d;
      break;
    }
  if (first < 0) return false;  // not a slice at all (a copy): leave it to its kernel
  for (int d = 0; d < first; ++d)
    if (in.shape[static_cast<size_t>(d)] != 1) return false;
  for (int d = first + 1; d < r; ++d)
    if (begin[static_cast<size_t>(d)] != 0 || out.shape[static_cast<size_t>(d)] != in.shape[static_cast<size_t>(d)])
      return false;
  int64_t inner = static_cast<int64_t>(DTypeSize(in.dtype));
  for (int d = first + 1; d < r; ++d) inner *= in.shape[static_cast<size_t>(d)];
  const int64_t offset = begin[static_cast<size_t>(first)] * inner;
  if (offset % 64 != 0) return false;
  Alias(n.outputs[0], n.inputs[0], offset);
  return true;
}

bool ValueStorage::Consistent() const {
  // The ranges of values that are written (by a kernel, or copied in as graph inputs): not views,
  // not outputs of in-place concats, not constants.
  std::vector<bool> concat_out(link_.size(), false);
  for (size_t k = 0; k < in_place_.size(); ++k)
    if (in_place_[k]) concat_out[static_cast<size_t>(g_.node(static_cast<NodeId>(k)).outputs[0])] = true;
  std::map<ValueId, std::vector<std::pair<int64_t, int64_t>>> ranges;
  for (size_t i = 0; i < link_.size(); ++i) {
    const Value& v = g_.value(static_cast<ValueId>(i));
    const bool view = link_[i].parent != static_cast<ValueId>(i) && !placed_[i];
    if (view || concat_out[i] || v.constant || (v.producer < 0 && !v.is_graph_input)) continue;
    const Link r = Find(static_cast<ValueId>(i));
    ranges[r.parent].push_back({r.offset, r.offset + Bytes(v)});
  }
  for (auto& [root, rs] : ranges) {
    std::sort(rs.begin(), rs.end());
    for (size_t k = 1; k < rs.size(); ++k)
      if (rs[k].first < rs[k - 1].second) return false;
  }
  return true;
}

bool ValueStorage::PlaceConcatInPlace(NodeId id) {
  const Node& n = g_.node(id);
  if (n.op_type != "Concat" || n.outputs.size() != 1 || n.outputs[0] == kNoValue) return false;
  const Value& out = g_.value(n.outputs[0]);
  if (!out.shape_known || out.constant || out.shape.empty()) return false;
  const int r = static_cast<int>(out.shape.size());
  int64_t axis = n.attrs.GetInt("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return false;
  for (int d = 0; d < axis; ++d)
    if (out.shape[static_cast<size_t>(d)] != 1) return false;  // slices would be strided
  const auto saved_link = link_;
  const auto saved_placed = placed_;
  int64_t offset = 0;
  bool ok = true;
  for (ValueId in : n.inputs) {
    if (in == kNoValue) continue;
    const Value& v = g_.value(in);
    if (v.constant || v.dtype != out.dtype || offset % 64 != 0) {
      ok = false;
      break;
    }
    const Link a = Find(in), b = Find(n.outputs[0]);
    if (a.parent == b.parent) {
      ok = a.offset == b.offset + offset;  // already there (DenseNet's earlier layers), or a conflict
    } else {
      // The block holding `in` moves inside the output's block, `in` landing at its slice.
      link_[static_cast<size_t>(a.parent)] = {b.parent, b.offset + offset - a.offset};
      placed_[static_cast<size_t>(a.parent)] = true;
    }
    if (!ok) break;
    offset += Bytes(v);
  }
  if (ok) {
    in_place_[static_cast<size_t>(id)] = true;
    if (Consistent()) {
      Normalise();
      return true;
    }
    in_place_[static_cast<size_t>(id)] = false;
  }
  link_ = saved_link;
  placed_ = saved_placed;
  return false;
}

bool ValueStorage::InPlace(NodeId n) const {
  return static_cast<size_t>(n) < in_place_.size() && in_place_[static_cast<size_t>(n)];
}

void ValueStorage::Normalise() {
  const size_t n = link_.size();
  std::vector<int64_t> lo(n, 0), hi(n, 0);
  std::vector<bool> seen(n, false);
  for (size_t i = 0; i < n; ++i) {
    const Link r = Find(static_cast<ValueId>(i));
    const size_t root = static_cast<size_t>(r.parent);
    const int64_t end = r.offset + Bytes(g_.value(static_cast<ValueId>(i)));
    if (!seen[root]) {
      lo[root] = r.offset;
      hi[root] = end;
      seen[root] = true;
    } else {
      lo[root] = std::min(lo[root], r.offset);
      hi[root] = std::max(hi[root], end);
    }
  }
  shift_.assign(n, 0);
  size_.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (!seen[i]) continue;
    shift_[i] = -lo[i];
    size_[i] = hi[i] - lo[i];
  }
}

ValueId ValueStorage::Root(ValueId v) const { return Find(v).parent; }

int64_t ValueStorage::Offset(ValueId v) const {
  const Link r = Find(v);
  const size_t root = static_cast<size_t>(r.parent);
  return r.offset + (root < shift_.size() ? shift_[root] : 0);
}

int64_t ValueStorage::RootBytes(ValueId r) const {
  const size_t i = static_cast<size_t>(r);
  return i < size_.size() ? size_[i] : Bytes(g_.value(r));
}

}  // namespace opal::build
