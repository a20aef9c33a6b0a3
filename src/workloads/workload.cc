#include "opal/workload.h"

#include <fmt/format.h>

#include <map>
#include <vector>

#include "opal/hash.h"

namespace opal {
namespace {

enum class FieldType { kInt, kPositive, kNonNegative, kBool, kString };

struct Field {
  const char* name;
  FieldType type;
};

const std::map<std::string, std::vector<Field>>& OpFields() {
  using T = FieldType;
  static const std::map<std::string, std::vector<Field>> fields = {
      {"conv2d",
       {{"dtype", T::kString}, {"layout", T::kString}, {"n", T::kPositive}, {"c", T::kPositive},
        {"h", T::kPositive}, {"w", T::kPositive}, {"k", T::kPositive}, {"kh", T::kPositive},
        {"kw", T::kPositive}, {"stride_h", T::kPositive}, {"stride_w", T::kPositive},
        {"pad_top", T::kNonNegative}, {"pad_left", T::kNonNegative}, {"pad_bottom", T::kNonNegative},
        {"pad_right", T::kNonNegative}, {"dilation_h", T::kPositive}, {"dilation_w", T::kPositive},
        {"groups", T::kPositive}}},
      {"dense",
       {{"dtype", T::kString}, {"m", T::kPositive}, {"n", T::kPositive}, {"k", T::kPositive},
        {"trans_a", T::kBool}, {"trans_b", T::kBool}}},
      {"batch_matmul",
       {{"dtype", T::kString}, {"batch", T::kPositive}, {"m", T::kPositive}, {"n", T::kPositive},
        {"k", T::kPositive}, {"broadcast", T::kString}}},
  };
  return fields;
}

Status CheckField(const std::string& op, const Field& f, const Json& v) {
  auto bad = [&](const char* want) {
    return Error(ErrorCode::kInvalidArgument, "workload {}: field '{}' must be {}, got {}", op, f.name, want,
                 v.dump());
  };
  switch (f.type) {
    case FieldType::kString:
      if (!v.is_string()) return bad("a string");
      break;
    case FieldType::kBool:
      if (!v.is_boolean()) return bad("true or false");
      break;
    case FieldType::kInt:
      if (!v.is_number_integer()) return bad("an integer");
      break;
    case FieldType::kPositive:
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (int64_t{1} << 31)) {
        return bad("a positive integer");
      }
      break;
    case FieldType::kNonNegative:
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (int64_t{1} << 31)) {
        return bad("a non-negative integer");
      }
      break;
  }
  return Status::Ok();
}

// Output spatial size of a conv2d workload along one axis (may be <= 0 for invalid geometry).
int64_t ConvOut(int64_t in, int64_t pad_a, int64_t pad_b, int64_t kernel, int64_t dilation, int64_t stride) {
  return (in + pad_a + pad_b - (kernel - 1) * dilation - 1) / stride + 1;
}

}  // namespace

Result<Workload> Workload::FromJson(const Json& json) {
  if (!json.is_object() || !json.contains("op") || !json["op"].is_string()) {
    return Error(ErrorCode::kInvalidArgument, "workload must be a JSON object with an \"op\" field");
  }
  Workload w;
  w.op_ = json["op"].get<std::string>();
  auto it = OpFields().find(w.op_);
  if (it == OpFields().end()) {
    return Error(ErrorCode::kInvalidArgument, "unknown workload op '{}' (known: batch_matmul, conv2d, dense)", w.op_);
  }
  for (const Field& f : it->second) {
    if (!json.contains(f.name)) {
      return Error(ErrorCode::kInvalidArgument, "workload {}: missing field '{}'", w.op_, f.name);
    }
    OPAL_RETURN_IF_ERROR(CheckField(w.op_, f, json[f.name]));
  }
  for (const auto& [k, v] : json.items()) {
    if (k == "op") continue;
    bool known = false;
    for (const Field& f : it->second) known = known || k == f.name;
    if (!known) return Error(ErrorCode::kInvalidArgument, "workload {}: unknown field '{}'", w.op_, k);
  }
  if (json["dtype"] != "float32" && json["dtype"] != "float16" && json["dtype"] != "bfloat16" &&
      json["dtype"] != "float64") {
    return Error(ErrorCode::kInvalidArgument, "workload {}: unsupported dtype {}", w.op_, json["dtype"].dump());
  }
  if (w.op_ == "conv2d") {
    if (json["layout"] != "NCHW") {
      return Error(ErrorCode::kInvalidArgument, "workload conv2d: layout must be \"NCHW\"");
    }
    int64_t g = json["groups"];
    if (json["c"].get<int64_t>() % g || json["k"].get<int64_t>() % g) {
      return Error(ErrorCode::kInvalidArgument, "workload conv2d: groups {} must divide c and k", g);
    }
    if (ConvOut(json["h"], json["pad_top"], json["pad_bottom"], json["kh"], json["dilation_h"], json["stride_h"]) <= 0 ||
        ConvOut(json["w"], json["pad_left"], json["pad_right"], json["kw"], json["dilation_w"], json["stride_w"]) <= 0) {
      return Error(ErrorCode::kInvalidArgument, "workload conv2d: the kernel does not fit the padded input");
    }
  }
  if (w.op_ == "batch_matmul" && json["broadcast"] != "none" && json["broadcast"] != "a") {
    return Error(ErrorCode::kInvalidArgument, "workload batch_matmul: broadcast must be \"none\" or \"a\"");
  }
  w.json_ = json;
  return w;
}

std::string Workload::CanonicalJson() const { return opal::CanonicalJson(json_); }

std::string Workload::Key() const { return op_ + "-" + Sha256Hex(CanonicalJson()).substr(0, 16); }

double Workload::Flops() const {
  if (op_ == "conv2d") {
    int64_t oh = ConvOut(Get("h"), Get("pad_top"), Get("pad_bottom"), Get("kh"), Get("dilation_h"), Get("stride_h"));
    int64_t ow = ConvOut(Get("w"), Get("pad_left"), Get("pad_right"), Get("kw"), Get("dilation_w"), Get("stride_w"));
    return 2.0 * double(Get("n")) * double(Get("k")) * double(oh) * double(ow) *
           double(Get("c") / Get("groups")) * double(Get("kh")) * double(Get("kw"));
  }
  if (op_ == "dense") return 2.0 * double(Get("m")) * double(Get("n")) * double(Get("k"));
  return 2.0 * double(Get("batch")) * double(Get("m")) * double(Get("n")) * double(Get("k"));
}

std::string Workload::Summary() const {
  if (op_ == "conv2d") {
    std::string pads = Get("pad_top") == Get("pad_bottom") && Get("pad_left") == Get("pad_right") &&
                               Get("pad_top") == Get("pad_left")
                           ? std::to_string(Get("pad_top"))
                           : fmt::format("{},{},{},{}", Get("pad_top"), Get("pad_left"), Get("pad_bottom"),
                                         Get("pad_right"));
    auto pair = [&](const char* a, const char* b) {
      return Get(a) == Get(b) ? std::to_string(Get(a)) : fmt::format("{}x{}", Get(a), Get(b));
    };
    return fmt::format("conv2d {}x{}x{}x{} -> {} k{}x{} s{} p{} d{} g{}", Get("n"), Get("c"), Get("h"), Get("w"),
                       Get("k"), Get("kh"), Get("kw"), pair("stride_h", "stride_w"), pads,
                       pair("dilation_h", "dilation_w"), Get("groups"));
  }
  if (op_ == "dense") {
    bool ta = json_["trans_a"], tb = json_["trans_b"];
    return fmt::format("dense {}x{}x{}{}{}", Get("m"), Get("n"), Get("k"), ta ? " A^T" : "", tb ? " B^T" : "");
  }
  return fmt::format("batch_matmul {} x {}x{}x{}{}", Get("batch"), Get("m"), Get("n"), Get("k"),
                     json_["broadcast"] == "a" ? " (A shared)" : "");
}

}  // namespace opal
