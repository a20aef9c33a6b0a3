// DeepBench training results (Baidu Research; GEMMs timed with cuBLAS, convolutions with cuDNN,
// on NVIDIA GPUs) read from their flattened CSV form and turned into tuning records of the GPUs'
// targets, so that the store holds measured GPU operator times.
//
// Files (recognised by their header line):
//   gemm.csv  gpu,precision,M,N,K,a_trans,b_trans,time_ms
//   conv.csv  gpu,precision,W,H,C,N,K,S,R,pad_w,pad_h,stride_w,stride_h,fwd_ms,bwd_inputs_ms,
//             bwd_params_ms
// precision is fp32 or fp16; S is the filter width and R its height (DeepBench's conv_bench);
// layouts are NCHW.
//
// Workloads (include/opal/workload.h):
//   - a GEMM is cuBLAS's column-major C[M,N] = op(A) op(B). The same memory read row-major is
//     C^T[N,M] = op(B)^T op(A)^T, so the opal `dense` workload is m = N, n = M, k = K,
//     trans_a = b_trans, trans_b = a_trans (M = 1760, N = 16, "T,N" becomes X[16,K] * W^T:
//     m = 16 tokens, as opal's transformer products are keyed);
//   - a convolution's forward pass is a `conv2d` (n, c, h, w, k, kh = R, kw = S, symmetric pads,
//     dilation 1, groups 1). The two backward passes have no workload kind in opal: they are read
//     (DeepBenchConv) but not turned into records.
// Records: framework "cublas" (GEMM) or "cudnn" (convolution), framework version "deepbench"
// (the library versions are not published with the results), one time (DeepBench's mean over
// its repeats), config {"call": the library entry point, "measured_by": ...}, provenance host
// "DeepBench (Baidu Research)", timestamp 1 us after the epoch (the measurement dates are not
// published; a fixed value keeps re-imports idempotent).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/record.h"
#include "opal/status.h"
#include "opal/target.h"

namespace opal {

struct DeepBenchGemm {
  std::string gpu, precision;   // as written in the file ("V100", "fp16")
  int64_t m = 0, n = 0, k = 0;  // DeepBench's (column-major) sizes
  bool a_trans = false, b_trans = false;
  double time_ms = 0;
  std::string where;  // "file:line"
};

struct DeepBenchConv {
  std::string gpu, precision;
  int64_t w = 0, h = 0, c = 0, n = 0, k = 0;
  int64_t kw = 0, kh = 0;  // S, R
  int64_t pad_w = 0, pad_h = 0, stride_w = 1, stride_h = 1;
  double fwd_ms = 0, bwd_data_ms = 0, bwd_filter_ms = 0;
  std::string where;
};

struct DeepBenchData {
  std::vector<DeepBenchGemm> gemms;
  std::vector<DeepBenchConv> convs;
};

// Reads DeepBench CSV files; a directory stands for its gemm.csv and conv.csv (either may be
// absent, not both). Errors name the file and line: kNotFound for a missing path, kInvalidModel
// for an unknown header, a wrong field count, a precision other than fp32/fp16, a size or time
// that is not positive or a filter larger than the padded input.
Result<DeepBenchData> ReadDeepBench(const std::vector<std::string>& paths);

// "float32" for fp32, "float16" for fp16.
std::string DeepBenchDtype(const std::string& precision);
// The workload JSON of a GEMM (dense) and of a convolution's forward pass (conv2d), as above.
Json DeepBenchGemmWorkload(const DeepBenchGemm& g);
Json DeepBenchConvWorkload(const DeepBenchConv& c);

struct DeepBenchRecords {
  std::vector<Record> records;         // finalized, ready for RecordStore::Put
  int64_t gemms = 0, convs = 0;        // rows turned into records
  int64_t conv_backward_left_out = 0;  // backward-pass times without a workload kind
};
// One record per GEMM row and per convolution row (its forward time). `gpu_targets` maps the
// files' GPU names to targets (a catalog's targets.json, with aliases such as "V100" ->
// V100-16's target); a GPU name it lacks is kInvalidArgument naming the name, the line and the
// known names.
Result<DeepBenchRecords> MakeDeepBenchRecords(const DeepBenchData& data,
                                              const std::map<std::string, Target>& gpu_targets);

}  // namespace opal
