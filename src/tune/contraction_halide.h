// The Halide "contraction" template as Halide objects: the algorithm of contraction.h for one
// workload and the schedule of one config (contraction_space.h), with an optional element-wise
// epilogue computed in the output stage. Shared by the JIT kernels of the tuner
// (halide_kernel.cc) and the ahead-of-time builder (src/lower/lower_contraction.cc).
// Includes Halide.h: only those translation units include this header.
#pragma once

#include <Halide.h>

#include <functional>
#include <vector>

#include "opal/status.h"
#include "opal/tuning_space.h"
#include "opal/workload.h"

namespace opal::tune {

// An operand as the kernel sees it: Halide dims innermost first, each (extent, stride).
struct HalideDim {
  int64_t extent, stride;
};
using HalideView = std::vector<HalideDim>;

// Row-major shape (outermost first) -> dense view (innermost first).
HalideView DenseHalideView(const std::vector<int64_t>& shape);

// Applies the epilogue to the reduction's value `acc` at output coordinate (x, y, b) of the
// contraction (contraction.h). May create ImageParams of its own (the caller keeps them).
using EpilogueFn = std::function<Halide::Expr(Halide::Expr acc, Halide::Var x, Halide::Var y, Halide::Var b)>;

struct ContractionFuncs {
  std::vector<Halide::ImageParam> params;  // the operands of OperandsOf(w), in that order
  std::vector<HalideView> views;           // their views of the operand memory (constrained)
  HalideView out_view;                     // the output (x, y, b) over [b][y][x] memory
  Halide::Func out;                        // scheduled, its output buffer constrained
  // Not empty: the weights (params[1]) are read in the layout PackWeights (contraction.h) makes,
  // of this shape, so the caller packs them; empty: read as given.
  std::vector<int64_t> packed_weights;
};

struct ContractionOptions {
  EpilogueFn epilogue;               // empty: the plain reduction
  bool inject_wrong_result = false;  // test-only: adds 1 to one output element
  // A config that reads the weights packed ahead of time (PackedWeightsShape of contraction.h)
  // reads them as given instead (weights that are not constants of the model): a `chan` conv from
  // the ONNX layout, a dense `pack_b 3` packs B per call as `pack_b 1` does.
  bool weights_as_given = false;
};

// Defines and schedules the contraction. kUnsupported for a workload outside the template;
// kFailed with Halide's message when it rejects the schedule. Precondition: config is valid in
// ContractionSpace(w, target).
Result<ContractionFuncs> DefineContraction(const Workload& w, const Config& config,
                                           const ContractionOptions& options = {});

// First line of a Halide error message, at most 400 characters.
std::string HalideErrorLine(const std::string& what);

}  // namespace opal::tune
