// A Workload is one tunable operator instance: everything that changes the computation a kernel
// performs, and nothing else. Its canonical JSON, hashed, is the workload key under which tuning
// records are stored; any parameter missing from it would silently apply a schedule to the wrong
// computation, so every field below is in the key.
//
// Ops (canonical field names; all integers unless noted):
//   conv2d        dtype, layout ("NCHW"), n, c, h, w, k (output channels), kh, kw,
//                 stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right,
//                 dilation_h, dilation_w, groups
//   dense         dtype, m, n, k, trans_a, trans_b (bools): C[m,n] = op(A) * op(B)
//   batch_matmul  dtype, batch, m, n, k, broadcast ("none" | "a"): C[b] = A[b or 0] * B[b]
//
// Epilogues are not part of a workload: the tuned kernel computes the reduction only (no bias,
// activation, alpha/beta or residual), and the builder fuses those element-wise steps into the
// output stage of the chosen schedule. So a Conv with or without bias/ReLU, and Gemm(alpha, beta,
// C) or MatMul followed by Add, share one task and one set of records. (docs/workloads.md)
#pragma once

#include <string>

#include "opal/json.h"
#include "opal/status.h"

namespace opal {

class Workload {
 public:
  // Validates `json` ({"op": ..., fields...}) against the op's field list: every field present,
  // of the right type and range, no unknown fields. kInvalidArgument naming the field otherwise.
  static Result<Workload> FromJson(const Json& json);

  const std::string& op() const { return op_; }
  // The full JSON, "op" included.
  const Json& json() const { return json_; }
  int64_t Get(const std::string& field) const { return json_.at(field).get<int64_t>(); }

  // Sorted keys, no whitespace: the text that is hashed and stored.
  std::string CanonicalJson() const;
  // "<op>-<first 16 hex of SHA-256 of the canonical JSON>", e.g. "conv2d-3f1c0a9b7d2e4f60".
  std::string Key() const;
  // Floating-point operations of one execution (2 per multiply-accumulate).
  double Flops() const;
  // One line for humans: "conv2d 1x64x56x56 -> 64 k3x3 s1 p1 d1 g1".
  std::string Summary() const;

 private:
  std::string op_;
  Json json_;
};

}  // namespace opal
