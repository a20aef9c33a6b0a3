#include "builder/kernel_key.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "opal/hash.h"

namespace opal::build {
namespace {

std::string Dims(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ",")); }

std::string ViewText(const lower::ArgView& v) {
  std::string s = "(";
  for (const auto& d : v.dims) s += fmt::format("{}:{},", d.extent, d.stride);
  return s + ")";
}

std::string AttributeText(const Attribute& a) {
  switch (a.kind) {
    case Attribute::Kind::kInt: return fmt::format("i{}", a.i);
    case Attribute::Kind::kFloat: return fmt::format("f{:a}", a.f);
    case Attribute::Kind::kString: return "s" + Sha256Hex(a.s);
    case Attribute::Kind::kInts: return fmt::format("I{}", fmt::join(a.ints, ","));
    case Attribute::Kind::kFloats: {
      std::string s = "F";
      for (double f : a.floats) s += fmt::format("{:a},", f);
      return s;
    }
    case Attribute::Kind::kStrings: {
      std::string s = "S";
      for (const auto& x : a.strings) s += Sha256Hex(x) + ",";
      return s;
    }
    case Attribute::Kind::kTensor:
      return a.t ? "t" + Dims(a.t->shape()) +
                       Sha256Hex(std::string_view(reinterpret_cast<const char*>(a.t->raw()), a.t->nbytes()))
                 : "t-";
    default: return std::string("?") + Attribute::KindName(a.kind);
  }
}

}  // namespace

std::string DescribeKernel(const Graph& g, const lower::KernelGroup& group, const lower::KernelDef& def,
                           const Config* config) {
  std::string d = fmt::format("opset{}|{}\n", g.opset, def.kind);
  std::map<ValueId, size_t> member_value;  // outputs of earlier members, by member index
  const Node& anchor = g.node(group.anchor);
  for (size_t m = 0; m < group.members.size(); ++m) {
    const Node& n = g.node(group.members[m]);
    d += fmt::format("node {}|{}\n", n.domain, n.op_type);
    for (const auto& [name, a] : n.attrs.all()) d += name + "=" + AttributeText(a) + "\n";
    for (ValueId id : n.inputs) {
      if (id == kNoValue) {
        d += "in -\n";
        continue;
      }
      if (auto it = member_value.find(id); it != member_value.end()) {
        d += fmt::format("in member {}\n", it->second);
        continue;
      }
      const Value& v = g.value(id);
      d += fmt::format("in {} {}", DTypeName(v.dtype), Dims(v.shape));
      // A contraction reads its weights (input 1) at run time, as they are or as a packed copy
      // (the input views then differ): their numbers are not part of the kernel.
      const bool param = std::find(def.input_values.begin(), def.input_values.end(), id) != def.input_values.end() ||
                         (m == 0 && def.kind == "contraction" && id == anchor.inputs[1]);
      if (v.constant && !param)
        d += " const " + Sha256Hex(std::string_view(reinterpret_cast<const char*>(v.constant->raw()), v.constant->nbytes()));
      d += "\n";
    }
    for (ValueId id : n.outputs) {
      if (id == kNoValue) continue;
      d += fmt::format("out {} {}\n", DTypeName(g.value(id).dtype), Dims(g.value(id).shape));
      member_value[id] = m;
    }
  }
  for (const auto& v : def.input_views) d += "iv " + ViewText(v) + "\n";
  for (const auto& v : def.output_views) d += "ov " + ViewText(v) + "\n";
  if (config) d += "config " + config->CanonicalJson() + "\n";
  return d;
}

std::string KernelName(const std::string& description) { return "opal_" + Sha256Hex(description).substr(0, 16); }

}  // namespace opal::build
