// The schedule of the contraction template (contraction_algorithm.h): every Func of the
// algorithm placed, tiled, vectorised and parallelised from the config's knobs
// (contraction_space.h). Nothing here changes what is computed.
#include <algorithm>

#include "tune/contraction_algorithm.h"

namespace opal::tune {
namespace {

using Halide::RVar;
using Halide::TailStrategy;
using Halide::Var;

// The operand stages: the padded grid zeroed, then copied phase by phase, parallel over rows;
// the tap table once; the im2col matrix parallel over its rows. Per batch (st.per_batch), the
// grid or the matrix of one batch is made inside the output's parallel loop over batches, serially.
void ScheduleOperandStages(ContractionAlgorithm& a) {
  OperandStages& st = a.stages;
  if (st.per_batch && a.grid) {
    st.grid_flat.compute_at(a.out, a.b).bound(st.j, 0, st.grid_total);
    if (st.grid_lanes > 1) st.grid_flat.vectorize(st.j, st.grid_lanes, TailStrategy::GuardWithIf);
    for (size_t u = 0; u < st.grid_copies.size(); ++u) {
      const OperandStages::PhaseCopy& pc = st.grid_copies[u];
      Halide::Stage copy = st.grid_flat.update(static_cast<int>(u));
      if (st.grid_lanes > 1 && pc.width >= st.grid_lanes)  // distinct columns: distinct grid elements
        copy.allow_race_conditions().vectorize(pc.r.x, st.grid_lanes, TailStrategy::GuardWithIf);
      else
        copy.unscheduled();  // serial, as defined
    }
    st.tap.compute_root().bound(st.k, 0, static_cast<int>(a.c.nr));
  } else if (a.grid) {
    // Zeros in up to 32 parallel chunks of the grid (of every batch) of at least 16K elements in
    // all; each phase's copy parallel over its rows (of every input channel and batch), its
    // columns vectorised.
    const int64_t n = int64_t{st.grid_total} * st.grid_batches;
    const int64_t tasks = std::clamp<int64_t>(n / 16384, 1, 32);
    const int chunk = static_cast<int>(std::max<int64_t>(st.grid_lanes, (st.grid_total + tasks - 1) / tasks));
    st.grid_flat.compute_root().bound(st.j, 0, st.grid_total).bound(st.bb, 0, st.grid_batches);
    st.grid_flat.split(st.j, st.jo, st.ji, chunk, TailStrategy::GuardWithIf).reorder(st.ji, st.bb, st.jo).parallel(st.jo);
    if (st.grid_lanes > 1) st.grid_flat.vectorize(st.ji, st.grid_lanes, TailStrategy::GuardWithIf);
    for (size_t u = 0; u < st.grid_copies.size(); ++u) {
      const OperandStages::PhaseCopy& pc = st.grid_copies[u];
      RVar rows("rows"), tasks("tasks");
      // Distinct (row, channel, batch) write distinct grid rows: no race, whatever Halide proves.
      Halide::Stage copy = st.grid_flat.update(static_cast<int>(u));
      copy.allow_race_conditions().fuse(pc.r.y, pc.r.z, rows).fuse(rows, pc.r.w, tasks).parallel(tasks);
      if (st.grid_lanes > 1 && pc.width >= st.grid_lanes) copy.vectorize(pc.r.x, st.grid_lanes, TailStrategy::GuardWithIf);
    }
    st.tap.compute_root().bound(st.k, 0, static_cast<int>(a.c.nr));
  }
  if (a.im2col && st.per_batch) {
    st.cols.compute_at(a.out, a.b);
    if (st.cols_lanes > 1) st.cols.vectorize(st.ox, st.cols_lanes, TailStrategy::ShiftInwards);
  } else if (a.im2col) {
    Var kb("kb");
    st.cols.compute_root().fuse(st.k, st.b, kb).parallel(kb);
    if (st.cols_lanes > 1) st.cols.vectorize(st.ox, st.cols_lanes, TailStrategy::ShiftInwards);
  }
}

}  // namespace

void ScheduleContraction(ContractionAlgorithm& a) {
  ScheduleOperandStages(a);
  const ContractionKnobs& kn = a.knobs;
  const Contraction& c = a.c;
  Halide::Func &out = a.out, &prod = a.prod, &tr = a.tr, &Ap = a.Ap, &Bp = a.Bp;
  const Var x = a.x, y = a.y, b = a.b, xv = a.xv, yv = a.yv, xp = a.xp, yp = a.yp;
  const int vec = a.vec, RX = a.RX, RY = a.RY, TX = a.TX, TY = a.TY, OW = a.OW, nb = a.nb;
  const bool transpose = a.transpose;
  const Halide::RDom& r = a.r;
  // The output's (x, y) are (pixel, channel) for a conv; vx and vy are the contraction's
  // columns and rows among them (exchanged with chan).
  const Var vx = a.chan ? y : x, vy = a.chan ? x : y;
  Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), f1("f1"), f2("f2");
  // Partial edge tiles shift inwards (recomputing a few outputs) whenever a tile fits in the
  // output: Halide 14 drops the GuardWithIf of such tiles in some loop nests (conv with
  // clamped im2col reads) and writes past the output. GuardWithIf remains only for outputs
  // narrower than one tile.
  auto tail = [](int64_t extent, int tile) {
    return extent >= tile ? TailStrategy::ShiftInwards : TailStrategy::GuardWithIf;
  };
  out.split(vx, xo, xi, TX, tail(c.nx, TX)).split(vy, yo, yi, TY, tail(c.ny, TY));
  Var inner = kn.order == 0 ? xo : yo, outer = kn.order == 0 ? yo : xo;
  if (transpose) {
    // One register tile per iteration: its RX channels unrolled, its RY pixels (one block of
    // an output row on the grid) a vector. tr's load from prod is a dense load and a shuffle.
    Var row("row"), col("col"), yb("yb"), yl("yl"), xb("xb"), xl("xl");
    std::vector<Halide::VarOrRVar> loops = {yl, xl, yb};
    if (nb > 0) {
      out.split(yi, row, col, OW).split(col, yb, yl, RY, TailStrategy::GuardWithIf);
      loops.push_back(row);
    } else {
      out.split(yi, yb, yl, RY, TailStrategy::GuardWithIf);
    }
    out.split(xi, xb, xl, RX, TailStrategy::GuardWithIf);
    loops.insert(loops.end(), {xb, inner, outer, b});
    out.reorder(loops).vectorize(yl).unroll(xl);
    // On the grid, the bounds of a block within its row are not provable: tr is a whole row.
    tr.compute_at(out, nb > 0 ? row : yb).bound(yv, 0, RY).bound(xv, 0, RX).vectorize(yv).vectorize(xv);
  } else {
    out.reorder(xi, yi, inner, outer, b);
    out.vectorize(xi, vec, tail(c.nx, TX));
  }
  // A parallel loop of fewer than two iterations runs the kernel on one core (par 0 over a
  // single outer tile: a chan conv whose output channels fit one register tile, e.g. DenseNet's
  // 128->32 3x3 convs, ran at half speed on 2 cores). Such a config gets par 2's loop (all tiles
  // fused), and a per-outer-tile packing becomes a packing once: there is one outer tile.
  const int par = EffectivePar(kn, c, TX, TY);
  const int pack_a = par != kn.par && kn.pack_a == 2 ? 1 : kn.pack_a;
  const int pack_b = par != kn.par && kn.pack_b == 2 ? 1 : kn.pack_b;
  Var site = inner, outer_site = outer;
  if (par == 0) {
    out.parallel(c.nb > 1 ? b : outer);
  } else if (par == 1) {
    out.fuse(outer, b, f1).parallel(f1);
    outer_site = f1;
  } else {
    out.fuse(inner, outer, f1).fuse(f1, b, f2).parallel(f2);
    site = f2;
    outer_site = f2;
  }

  prod.bound(xv, 0, RX).bound(yv, 0, RY);
  prod.compute_at(out, site);
  Var xvo("xvo"), xvi("xvi");
  prod.split(xv, xvo, xvi, vec).vectorize(xvi).unroll(xvo).unroll(yv);
  auto u = prod.update();
  u.split(xv, xvo, xvi, vec).vectorize(xvi).unroll(xvo).unroll(yv);
  RVar ro("ro"), ri("ri"), rio("rio"), rii("rii");
  RVar rin = r.x;
  if (kn.kc > 0) {
    u.split(r.x, ro, ri, kn.kc);
    rin = ri;
  }
  std::vector<Halide::VarOrRVar> order = {xvi, xvo, yv};
  if (kn.unroll_r > 1) {
    u.split(rin, rio, rii, kn.unroll_r).unroll(rii);
    order.push_back(rii);
    rin = rio;
  }
  order.push_back(rin);
  if (kn.inner == 0) {
    order.push_back(yp);
    order.push_back(xp);
  } else {
    order.push_back(xp);
    order.push_back(yp);
  }
  if (kn.kc > 0) order.push_back(ro);
  order.push_back(b);
  u.reorder(order);

  if (pack_b == 1 || pack_b == 2) {  // 3: panels packed ahead of time, read in place
    Bp.bound(xv, 0, RX);
    if (pack_b == 1) {
      Bp.compute_root().fuse(xp, b, f1).parallel(f1);
    } else {
      Bp.compute_at(out, outer_site);
    }
    Bp.vectorize(xv, vec);
  }
  if (pack_a > 0 && !a.a_prepacked) {
    Ap.bound(yv, 0, RY);
    if (pack_a == 1) {
      Ap.compute_root().fuse(yp, b, f1).parallel(f1);
    } else {
      Ap.compute_at(out, outer_site);
    }
  }
  ConstrainToView(out.output_buffer(), a.funcs.out_view);
  a.funcs.out = out;
}

}  // namespace opal::tune
