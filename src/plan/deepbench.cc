// DeepBench CSV files -> rows -> tuning records (include/opal/deepbench.h). In opal_plan: the
// records need workloads (opal_workloads), which the store library does not link.
#include "opal/deepbench.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "opal/workload.h"

namespace opal {
namespace {

constexpr const char* kGemmHeader = "gpu,precision,M,N,K,a_trans,b_trans,time_ms";
constexpr const char* kConvHeader =
    "gpu,precision,W,H,C,N,K,S,R,pad_w,pad_h,stride_w,stride_h,fwd_ms,bwd_inputs_ms,bwd_params_ms";
constexpr const char* kMeasuredBy = "Baidu Research, DeepBench training results";

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  if (!line.empty() && line.back() == ',') f.emplace_back();
  return f;
}

// A positive integer field (or >= 0 with `allow_zero`).
Result<int64_t> IntField(const std::string& text, const char* name, const std::string& where,
                         bool allow_zero = false) {
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0 || (v == 0 && !allow_zero))
    return Error(ErrorCode::kInvalidModel, "{}: {} must be a {} integer, got '{}'", where, name,
                 allow_zero ? "non-negative" : "positive", text);
  return static_cast<int64_t>(v);
}

Result<double> TimeField(const std::string& text, const char* name, const std::string& where) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0))
    return Error(ErrorCode::kInvalidModel, "{}: {} must be a positive number of ms, got '{}'",
                 where, name, text);
  return v;
}

Status CheckPrecision(const std::string& p, const std::string& where) {
  if (p == "fp32" || p == "fp16") return Status::Ok();
  return Error(ErrorCode::kInvalidModel, "{}: precision must be fp32 or fp16, got '{}'", where, p);
}

Result<bool> TransField(const std::string& text, const char* name, const std::string& where) {
  if (text == "N" || text == "n") return false;
  if (text == "T" || text == "t") return true;
  return Error(ErrorCode::kInvalidModel, "{}: {} must be N or T, got '{}'", where, name, text);
}

Result<DeepBenchGemm> ParseGemm(const std::vector<std::string>& f, const std::string& where) {
  if (f.size() != 8)
    return Error(ErrorCode::kInvalidModel, "{}: expected 8 fields ({}), got {}", where, kGemmHeader,
                 f.size());
  DeepBenchGemm g;
  g.gpu = f[0];
  g.precision = f[1];
  g.where = where;
  OPAL_RETURN_IF_ERROR(CheckPrecision(g.precision, where));
  OPAL_ASSIGN_OR_RETURN(g.m, IntField(f[2], "M", where));
  OPAL_ASSIGN_OR_RETURN(g.n, IntField(f[3], "N", where));
  OPAL_ASSIGN_OR_RETURN(g.k, IntField(f[4], "K", where));
  OPAL_ASSIGN_OR_RETURN(g.a_trans, TransField(f[5], "a_trans", where));
  OPAL_ASSIGN_OR_RETURN(g.b_trans, TransField(f[6], "b_trans", where));
  OPAL_ASSIGN_OR_RETURN(g.time_ms, TimeField(f[7], "time_ms", where));
  return g;
}

Result<DeepBenchConv> ParseConv(const std::vector<std::string>& f, const std::string& where) {
  if (f.size() != 16)
    return Error(ErrorCode::kInvalidModel, "{}: expected 16 fields ({}), got {}", where,
                 kConvHeader, f.size());
  DeepBenchConv c;
  c.gpu = f[0];
  c.precision = f[1];
  c.where = where;
  OPAL_RETURN_IF_ERROR(CheckPrecision(c.precision, where));
  OPAL_ASSIGN_OR_RETURN(c.w, IntField(f[2], "W", where));
  OPAL_ASSIGN_OR_RETURN(c.h, IntField(f[3], "H", where));
  OPAL_ASSIGN_OR_RETURN(c.c, IntField(f[4], "C", where));
  OPAL_ASSIGN_OR_RETURN(c.n, IntField(f[5], "N", where));
  OPAL_ASSIGN_OR_RETURN(c.k, IntField(f[6], "K", where));
  OPAL_ASSIGN_OR_RETURN(c.kw, IntField(f[7], "S", where));
  OPAL_ASSIGN_OR_RETURN(c.kh, IntField(f[8], "R", where));
  OPAL_ASSIGN_OR_RETURN(c.pad_w, IntField(f[9], "pad_w", where, true));
  OPAL_ASSIGN_OR_RETURN(c.pad_h, IntField(f[10], "pad_h", where, true));
  OPAL_ASSIGN_OR_RETURN(c.stride_w, IntField(f[11], "stride_w", where));
  OPAL_ASSIGN_OR_RETURN(c.stride_h, IntField(f[12], "stride_h", where));
  OPAL_ASSIGN_OR_RETURN(c.fwd_ms, TimeField(f[13], "fwd_ms", where));
  OPAL_ASSIGN_OR_RETURN(c.bwd_data_ms, TimeField(f[14], "bwd_inputs_ms", where));
  OPAL_ASSIGN_OR_RETURN(c.bwd_filter_ms, TimeField(f[15], "bwd_params_ms", where));
  if (c.w + 2 * c.pad_w < c.kw || c.h + 2 * c.pad_h < c.kh)
    return Error(ErrorCode::kInvalidModel, "{}: the {}x{} filter is larger than the padded input",
                 where, c.kh, c.kw);
  return c;
}

Status ReadFile(const std::string& path, DeepBenchData* out) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read DeepBench file '{}'", path);
  std::string header;
  std::getline(in, header);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  const bool gemm = header == kGemmHeader, conv = header == kConvHeader;
  if (!gemm && !conv)
    return Error(ErrorCode::kInvalidModel,
                 "{}: not a DeepBench CSV: the first line must be '{}' or '{}'", path, kGemmHeader,
                 kConvHeader);
  std::string line;
  for (int row = 2; std::getline(in, line); ++row) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = fmt::format("{}:{}", path, row);
    if (gemm) {
      OPAL_ASSIGN_OR_RETURN(auto g, ParseGemm(SplitCsv(line), where));
      out->gemms.push_back(std::move(g));
    } else {
      OPAL_ASSIGN_OR_RETURN(auto c, ParseConv(SplitCsv(line), where));
      out->convs.push_back(std::move(c));
    }
  }
  return Status::Ok();
}

Record BaseRecord(const Workload& w, const Target& t, const std::string& framework,
                  const std::string& call) {
  Record r;
  r.workload_key = w.Key();
  r.workload_json = w.CanonicalJson();
  r.op = w.op();
  r.target_key = t.ExactKey();
  r.target_coarse_key = t.CoarseKey();
  r.target_string = t.CanonicalString();
  r.framework = framework;
  r.framework_version = "deepbench";
  r.config_json = CanonicalJson(Json{{"call", call}, {"measured_by", kMeasuredBy}});
  r.provenance.host = "DeepBench (Baidu Research)";
  r.timestamp_us = 1;
  return r;
}

Result<const Target*> TargetOf(const std::map<std::string, Target>& targets, const std::string& gpu,
                               const std::string& where) {
  auto it = targets.find(gpu);
  if (it != targets.end()) return &it->second;
  std::string known;
  for (const auto& [name, t] : targets) known += (known.empty() ? "" : ", ") + name;
  return Error(ErrorCode::kInvalidArgument,
               "{}: GPU '{}' has no target; add it to the GPU target map (targets.json, or its "
               "\"aliases\") -- known: {}",
               where, gpu, known);
}

}  // namespace

Result<DeepBenchData> ReadDeepBench(const std::vector<std::string>& paths) {
  DeepBenchData data;
  namespace fs = std::filesystem;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      int found = 0;
      for (const char* name : {"gemm.csv", "conv.csv"}) {
        const std::string file = (fs::path(p) / name).string();
        if (!fs::exists(file, ec)) continue;
        ++found;
        OPAL_RETURN_IF_ERROR(ReadFile(file, &data));
      }
      if (found == 0)
        return Error(ErrorCode::kNotFound, "{}: no gemm.csv or conv.csv in this directory", p);
    } else {
      OPAL_RETURN_IF_ERROR(ReadFile(p, &data));
    }
  }
  return data;
}

std::string DeepBenchDtype(const std::string& precision) {
  return precision == "fp16" ? "float16" : "float32";
}

Json DeepBenchGemmWorkload(const DeepBenchGemm& g) {
  return Json{{"op", "dense"},
              {"dtype", DeepBenchDtype(g.precision)},
              {"m", g.n},
              {"n", g.m},
              {"k", g.k},
              {"trans_a", g.b_trans},
              {"trans_b", g.a_trans}};
}

Json DeepBenchConvWorkload(const DeepBenchConv& c) {
  return Json{{"op", "conv2d"},
              {"dtype", DeepBenchDtype(c.precision)},
              {"layout", "NCHW"},
              {"n", c.n},
              {"c", c.c},
              {"h", c.h},
              {"w", c.w},
              {"k", c.k},
              {"kh", c.kh},
              {"kw", c.kw},
              {"stride_h", c.stride_h},
              {"stride_w", c.stride_w},
              {"pad_top", c.pad_h},
              {"pad_bottom", c.pad_h},
              {"pad_left", c.pad_w},
              {"pad_right", c.pad_w},
              {"dilation_h", 1},
              {"dilation_w", 1},
              {"groups", 1}};
}

Result<DeepBenchRecords> MakeDeepBenchRecords(const DeepBenchData& data,
                                              const std::map<std::string, Target>& gpu_targets) {
  DeepBenchRecords out;
  auto add = [&](const Json& wj, const std::string& gpu, const std::string& where,
                 const char* framework, const char* call, double ms) -> Status {
    OPAL_ASSIGN_OR_RETURN(const Target* t, TargetOf(gpu_targets, gpu, where));
    auto w = Workload::FromJson(wj);
    if (!w.ok()) return w.status().WithContext(where);
    Record r = BaseRecord(*w, *t, framework, call);
    r.times_s = {ms / 1e3};
    r.Finalize(w->Flops());
    out.records.push_back(std::move(r));
    return Status::Ok();
  };
  for (const auto& g : data.gemms) {
    OPAL_RETURN_IF_ERROR(
        add(DeepBenchGemmWorkload(g), g.gpu, g.where, "cublas", "cublasGemmEx", g.time_ms));
    ++out.gemms;
  }
  for (const auto& c : data.convs) {
    OPAL_RETURN_IF_ERROR(add(DeepBenchConvWorkload(c), c.gpu, c.where, "cudnn",
                             "cudnnConvolutionForward", c.fwd_ms));
    ++out.convs;
    out.conv_backward_left_out += 2;
  }
  return out;
}

}  // namespace opal
