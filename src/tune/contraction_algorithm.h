// The contraction template in Halide's two halves (private to opal_tune; contraction_halide.h is
// the interface): DefineContractionAlgorithm says what is computed for one workload and config --
// every Func, its Vars and the tile sizes the config implies -- and ScheduleContraction says how,
// from the config's knobs (contraction_space.h). The algorithm applies no scheduling directive;
// the schedule defines no value.
#pragma once

#include <Halide.h>

#include "opal/status.h"
#include "opal/tuning_space.h"
#include "opal/workload.h"
#include "tune/contraction.h"
#include "tune/contraction_halide.h"
#include "tune/contraction_space.h"

namespace opal::tune {

// The operand stages some configs compute before the contraction.
struct OperandStages {
  // grid: the zero-padded input split into stride phases, flattened (grid_flat(j, bb)): zeros
  // (the pure definition), then one update per phase copying the input it holds (grid_copies:
  // the update's domain, columns x rows x input channels x bb, and its row length); and the table
  // of each reduction step's offset (tap(k)). Defined when ContractionAlgorithm::grid.
  struct PhaseCopy {
    Halide::RDom r;
    int width = 0;
  };
  Halide::Func grid_flat{"padded_flat"}, tap{"tap"};
  std::vector<PhaseCopy> grid_copies;
  Halide::Var j{"j"}, bb{"bb"}, jo{"jo"}, ji{"ji"};
  int grid_total = 0, grid_batches = 0, grid_lanes = 1;
  // The grid or the im2col matrix made per batch (batch x group of a grouped conv) inside the
  // parallel loop over batches, right before that batch's product reads it (PerBatchOperands),
  // instead of for all batches first: the copy stays in the cache of the core that reads it and
  // costs no parallel loop of its own. The grid's copies then run over the pure var bb (one
  // batch), not over an RDom of every batch.
  bool per_batch = false;
  // im2col: the im2col matrix materialised output row by output row (cols(ox, oy, k, b)).
  // Defined when ContractionAlgorithm::im2col.
  Halide::Func cols{"im2col"};
  Halide::Var ox{"ox"}, oy{"oy"}, k{"k"}, b{"b"};
  int cols_lanes = 1;
};

struct ContractionAlgorithm {
  ContractionKnobs knobs;
  // What the config selects (contraction_space.h): channel-vectorised, on the padded grid,
  // im2col materialised, register tiles transposed before they are stored.
  bool chan = false, grid = false, im2col = false, transpose = false;
  // A pixel-vectorised conv's weights read as panels packed ahead of time (pack_a 1 with packed
  // weights, PackedWeightsShape): Ap is the packed param read in place, not a stage of its own.
  bool a_prepacked = false;
  Contraction c;  // the contraction computed (ChanContractionOf with chan)
  int vec = 0, RX = 0, RY = 0;  // vector lanes and register tile
  int TX = 0, TY = 0;           // cache tile (whole grid rows on the grid)
  int OW = 0, pitch = 0;        // grid only: output width and grid row pitch
  int nb = 0;                   // chan on the grid: register tiles per output row (0 otherwise)
  OperandStages stages;
  // The contraction: operands in register-panel coordinates, the register-tile product, its
  // transpose (with `transpose`) and the output (x, y, b).
  Halide::Func Ap{"A_panel"}, Bp{"B_panel"}, prod{"prod"}, tr{"tr"}, out{"out"};
  Halide::Var x{"x"}, y{"y"}, b{"b"}, xv{"xv"}, yv{"yv"}, xp{"xp"}, yp{"yp"};
  Halide::RDom r;
  // The operands' params and views, the output view, the weight panel (out is set after the
  // schedule).
  ContractionFuncs funcs;
};

// Defines the algorithm. kUnsupported for a workload outside the template. May throw
// Halide::Error (the caller turns it into a Status).
Result<ContractionAlgorithm> DefineContractionAlgorithm(const Workload& w, const Config& config,
                                                        const ContractionOptions& options);

// Constrains a param or output buffer to `v` (bounds, strides, 64-byte host alignment).
void ConstrainToView(Halide::OutputImageParam p, const HalideView& v);

// Schedules every Func of `a` from a.knobs and constrains the output buffer. May throw
// Halide::Error.
void ScheduleContraction(ContractionAlgorithm& a);

}  // namespace opal::tune
