#include "tune/contraction_space.h"

#include <algorithm>
#include <climits>

namespace opal::tune {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int NativeLanes(const Target& t) { return std::max(4, t.VectorBits() / 32); }

// The only `vec` the space allows: native, or half of it when the output is narrower.
int LanesFor(const Contraction& c, const Target& t) {
  const int native = NativeLanes(t);
  return c.nx >= native ? native : native / 2;
}

}  // namespace

ContractionKnobs ContractionKnobs::From(const Config& c) {
  ContractionKnobs k;
  k.vec = static_cast<int>(c.Get("vec"));
  k.rx = static_cast<int>(c.Get("rx"));
  k.ry = static_cast<int>(c.Get("ry"));
  k.tx = static_cast<int>(c.Get("tx"));
  k.ty = static_cast<int>(c.Get("ty"));
  k.kc = static_cast<int>(c.Get("kc"));
  k.unroll_r = static_cast<int>(c.Get("unroll_r"));
  k.order = static_cast<int>(c.Get("order"));
  k.inner = static_cast<int>(c.Get("inner"));
  k.par = static_cast<int>(c.Get("par"));
  k.pack_a = static_cast<int>(c.Get("pack_a"));
  k.pack_b = static_cast<int>(c.Get("pack_b"));
  k.grid = c.knobs.count("grid") ? static_cast<int>(c.Get("grid")) : 0;
  k.im2col = c.knobs.count("im2col") ? static_cast<int>(c.Get("im2col")) : 0;
  k.chan = c.knobs.count("chan") ? static_cast<int>(c.Get("chan")) : 0;
  k.transpose = c.knobs.count("transpose") ? static_cast<int>(c.Get("transpose")) : 0;
  return k;
}

Config ContractionKnobs::ToConfig(const Workload& w) const {
  Config c;
  c.template_name = kContractionTemplate;
  c.knobs = {{"vec", vec},
             {"rx", rx},
             {"ry", ry},
             {"tx", tx},
             {"ty", ty},
             {"kc", kc},
             {"unroll_r", unroll_r},
             {"order", order},
             {"inner", inner},
             {"par", par},
             {"pack_a", pack_a},
             {"pack_b", pack_b}};
  if (GridEligible(w) || ChanGridEligible(w)) c.knobs["grid"] = grid;
  if (Im2colEligible(w)) c.knobs["im2col"] = im2col;
  if (ChanEligible(w)) {
    c.knobs["chan"] = chan;
    c.knobs["transpose"] = transpose;
  }
  return c;
}

bool GridEligible(const Workload& w) {
  return w.op() == "conv2d" && w.Get("kh") * w.Get("kw") > 1;
}

bool Im2colEligible(const Workload& w) { return w.op() == "conv2d" && !ContractionOf(w).b_direct; }

bool ChanEligible(const Workload& w) {
  return w.op() == "conv2d" && !IsDepthwiseConv(w) && w.Get("k") / w.Get("groups") >= 8;
}

bool ChanGridEligible(const Workload& w) { return ChanEligible(w) && Im2colEligible(w); }

bool UsesChan(const Workload& w, const ContractionKnobs& k) { return k.chan == 1 && ChanEligible(w); }

bool PacksConvWeightsAhead(const Workload& w, const ContractionKnobs& k) {
  return w.op() == "conv2d" && !UsesChan(w, k) && k.pack_a == 1;
}

int64_t ChanWeightPanel(const Workload& w, const ContractionKnobs& k) {
  const int64_t kg = w.Get("k") / w.Get("groups"), tile = int64_t{k.vec} * k.rx;
  return kg % tile == 0 ? tile : kg;
}

bool UsesGrid(const Workload& w, const ContractionKnobs& k) {
  return k.grid == 1 && (UsesChan(w, k) ? ChanGridEligible(w) : GridEligible(w));
}

Contraction ContractionFor(const Workload& w, const ContractionKnobs& k) {
  return UsesChan(w, k) ? ChanContractionOf(w) : ContractionOf(w);
}

int64_t ParallelTasks(int par, int order, const Contraction& c, int64_t TX, int64_t TY) {
  const int64_t tiles_x = (c.nx + TX - 1) / TX, tiles_y = (c.ny + TY - 1) / TY;
  const int64_t outer = order == 0 ? tiles_y : tiles_x;
  return par == 0 ? (c.nb > 1 ? c.nb : outer) : par == 1 ? outer * c.nb : tiles_x * tiles_y * c.nb;
}

int EffectivePar(const ContractionKnobs& k, const Contraction& c, int64_t TX, int64_t TY) {
  if (k.par != 2 && ParallelTasks(k.par, k.order, c, TX, TY) < 2 &&
      ParallelTasks(2, k.order, c, TX, TY) >= 2)
    return 2;
  return k.par;
}

bool PerBatchOperands(const Workload& w, const ContractionKnobs& k) {
  // The pixel side's panels packed once per call (A's with chan, B's without) read every batch's
  // operand at the root.
  const int pixel_pack = UsesChan(w, k) ? k.pack_a : k.pack_b;
  return k.par == 0 && ContractionOf(w).nb >= 2 && pixel_pack != 1;
}

int VectorRegisters(const Target& t) { return t.HasFeature("avx512f") ? 32 : 16; }

ConfigSpace ContractionSpace(const Workload& w, const Target& t) {
  const Contraction c = ContractionOf(w);
  const bool chan_ok = ChanEligible(w);
  const Contraction ct = chan_ok ? ChanContractionOf(w) : c;
  const int native = NativeLanes(t);
  const int regs = VectorRegisters(t);
  const int64_t l2 = t.l2_bytes > 0 ? t.l2_bytes : (512 << 10);

  // Per-knob values that can never be valid for this workload (in either of its contractions)
  // are dropped up front, so that rejection sampling only has to handle the constraints between
  // knobs.
  auto keep = [&](std::vector<int64_t> v, auto pred) {
    std::vector<int64_t> out;
    for (int64_t x : v)
      if (pred(c, x) || (chan_ok && pred(ct, x))) out.push_back(x);
    return out.empty() ? std::vector<int64_t>{v.front()} : out;
  };
  std::vector<Knob> knobs = {
      {"vec", keep({native / 2, native}, [&](const Contraction& e, int64_t v) { return v == LanesFor(e, t); }),
       "fp32 lanes per vector"},
      {"rx",
       keep({1, 2, 3, 4, 5, 6},
            [&](const Contraction& e, int64_t v) { return v == 1 || (v - 1) * LanesFor(e, t) < e.nx; }),
       "register tile width in vectors"},
      {"ry",
       keep({1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14},
            [&](const Contraction& e, int64_t v) { return v <= e.ny && v * 1 + 2 <= regs; }),
       "register tile height in rows"},
      {"tx",
       keep({1, 2, 4, 8, 16, 32},
            [&](const Contraction& e, int64_t v) { return v == 1 || CeilDiv(e.nx, LanesFor(e, t)) > v / 2; }),
       "cache tile width in register tiles"},
      {"ty", keep({1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64}, [&](const Contraction& e, int64_t v) { return v == 1 || e.ny > v / 2; }),
       "cache tile height in register tiles"},
      {"kc", keep({0, 32, 64, 128, 256, 512}, [&](const Contraction& e, int64_t v) { return v < e.nr; }),
       "reduction block (0: none)"},
      {"unroll_r", keep({1, 2, 4, 3, 9}, [&](const Contraction& e, int64_t v) { return v <= e.nr; }),
       "reduction steps unrolled"},
      {"order", {0, 1}, "0: row tiles outer; 1: column tiles outer"},
      {"inner", {0, 1}, "register tiles in a cache tile: 0 rows innermost, 1 columns innermost"},
      {"par", keep({0, 1, 2}, [&](const Contraction& e, int64_t v) { return v != 1 || e.nb > 1; }),
       "parallel loop: 0 outer tiles/batch, 1 outer x batch, 2 all tiles"},
      {"pack_a", {0, 1, 2}, "A panels: 0 in place, 1 packed once, 2 per outer row tile"},
      {"pack_b",
       keep({0, 1, 2, 3},
            [&](const Contraction& e, int64_t v) {
              return (v != 0 || e.b_direct || Im2colEligible(w)) && (v != 3 || w.op() == "dense");
            }),
       "B panels: 0 in place, 1 packed once per call, 2 per outer column tile, 3 packed ahead of time (dense)"},
  };
  const bool grid_ok = GridEligible(w), chan_grid_ok = ChanGridEligible(w);
  if (grid_ok || chan_grid_ok) {
    knobs.push_back({"grid", {0, 1}, "conv pixels: 0 implicit im2col, 1 shifted reads on the padded row pitch", 0});
  }
  if (Im2colEligible(w)) {
    knobs.push_back({"im2col", {0, 1}, "conv B: 0 gathered into the panels, 1 materialised row by row first", 0});
  }
  if (chan_ok) {
    knobs.push_back({"chan", {0, 1}, "conv vectorised over 0 output pixels, 1 output channels (weights packed ahead)", 0});
    knobs.push_back({"transpose", {0, 1}, "chan 1 output: 0 channel vectors stored lane by lane, 1 tiles transposed, rows of pixels stored", 0});
  }
  const bool dense = w.op() == "dense";
  auto valid = [c0 = c, ct, native, regs, l2, grid_ok, chan_grid_ok, dense](const Config& cfg) {
    const ContractionKnobs k = ContractionKnobs::From(cfg);
    const Contraction& c = k.chan == 1 ? ct : c0;
    // Narrow vectors only where the output is narrower than a native vector.
    if (k.vec != (c.nx >= native ? native : native / 2)) return false;
    // The grid with pixels vectorised needs stride 1 and a kernel larger than 1x1; with
    // channels vectorised, an input not read in place.
    if (k.grid == 1 && !(k.chan == 1 ? chan_grid_ok : grid_ok)) return false;
    // Register tile: accumulators + one vector of B per column vector + one broadcast of A
    // must fit the register file (more spills to the stack).
    const int regs_needed = k.rx * k.ry + k.rx + 1;
    if (regs_needed > regs) return false;
    const int64_t RX = int64_t(k.vec) * k.rx, RY = k.ry;
    // No tile wider than the output needs (a second tile of all-padding is pure waste).
    if (k.rx > 1 && RX - k.vec >= c.nx) return false;
    if (RY > 1 && RY - 1 >= c.ny) return false;
    if (k.tx > 1 && CeilDiv(c.nx, RX) <= k.tx / 2) return false;
    if (k.ty > 1 && CeilDiv(c.ny, RY) <= k.ty / 2) return false;
    // A cache tile spanning several register tiles must fit inside the output (it then has
    // shifted-inwards edge tiles, halide_kernel.cc); larger ones are all padding anyway.
    if (k.tx > 1 && RX * k.tx > c.nx) return false;
    if (k.ty > 1 && RY * k.ty > c.ny) return false;
    // The accumulator buffer of a cache tile stays within L2.
    if (RX * k.tx * RY * k.ty * 4 > l2) return false;
    // A reduction block must split the reduction.
    if (k.kc > 0 && k.kc >= c.nr) return false;
    if (k.unroll_r > 1 && k.unroll_r > c.nr) return false;
    if (k.kc > 0 && k.kc % k.unroll_r != 0) return false;
    // In-place reads need a row-major B with x contiguous; conv im2col must be packed.
    if (k.pack_b == 0 && !c.b_direct && k.grid == 0 && k.im2col == 0) return false;
    // The two ways of forming a conv's B exclude each other.
    if (k.grid == 1 && k.im2col == 1) return false;
    // Per-tile packing exists at the outer tile loop of the matching order, when that loop is
    // not fused with the inner one.
    if (k.pack_b == 2 && (k.order != 1 || k.par == 2)) return false;
    // B packed ahead of time exists for dense products (their B is a model's weights).
    if (k.pack_b == 3 && !dense) return false;
    if (k.pack_a == 2 && (k.order != 0 || k.par == 2)) return false;
    // The `inner` order only matters with more than one register tile per cache tile.
    if (k.inner == 1 && (k.tx == 1 || k.ty == 1)) return false;
    // par 1 fuses the outer tiles with the batch: the same as 0 when there is one batch and
    // one outer tile loop.
    if (k.par == 1 && c.nb == 1) return false;
    // The transposed store exists for channel-vectorised tiles of more than one pixel.
    if (k.transpose == 1 && (k.chan != 1 || k.ry == 1)) return false;
    return true;
  };
  return ConfigSpace(kContractionTemplate, std::move(knobs), valid);
}

namespace {

// Shrinks the tile of `k` until the config is in `space` (the space rejects oversized tiles).
Config Fit(ContractionKnobs k, const ConfigSpace& space, const Workload& w) {
  Config cfg = k.ToConfig(w);
  while (!space.Contains(cfg) && (k.tx > 1 || k.ty > 1 || k.rx > 1 || k.ry > 1 || k.kc > 0)) {
    if (k.tx > 1)
      k.tx /= 2;
    else if (k.ty > 1)
      k.ty /= 2;
    else if (k.kc > 0)
      k.kc = 0;
    else if (k.ry > 1)
      k.ry -= 1;
    else
      k.rx -= 1;
    cfg = k.ToConfig(w);
  }
  return cfg;
}

}  // namespace

namespace {

// The register tile fitted to contraction `c`: the number of vectors whose whole tiles pad nx the
// least (ties: the wider tile), as many rows as the registers then hold, the reduction blocked
// when it is long. With `fit_rows` (many short columns: the channels of a chan conv): at most
// 2 vectors, the row count that pads ny the least (ties: the taller), one register tile wide,
// the cache tile as tall as computes the fewest rows.
ContractionKnobs FittedTile(const Contraction& c, const Target& t, bool fit_rows) {
  const int regs = VectorRegisters(t);
  ContractionKnobs k;
  k.vec = LanesFor(c, t);
  double best_waste = 1e9;
  for (int rx = fit_rows ? 2 : 4; rx >= 1; --rx) {
    const int64_t w_cols = int64_t(k.vec) * rx;
    const double waste = double(CeilDiv(c.nx, w_cols) * w_cols) / double(c.nx);
    if (waste < best_waste - 0.02) {
      best_waste = waste;
      k.rx = rx;
    }
  }
  const int max_rows = std::min<int>(fit_rows ? 14 : 8, (regs - 1 - k.rx) / k.rx);
  k.ry = max_rows;
  k.ty = 8;
  if (fit_rows) {
    best_waste = 1e9;  // the row count that pads ny the least (ties: the taller)
    for (int ry : {14, 12, 10, 8, 7, 6, 5, 4}) {
      const double waste = double(CeilDiv(c.ny, ry) * ry) / double(c.ny);
      if (ry <= max_rows && waste < best_waste - 1e-9) {
        best_waste = waste;
        k.ry = ry;
      }
    }
    int64_t best_rows = INT64_MAX;  // the cache tile height that computes the fewest rows
    for (int ty : {64, 32, 16, 8, 7, 6, 5, 4, 3, 2, 1}) {
      const int64_t rows = int64_t(k.ry) * ty;
      const int64_t computed = CeilDiv(c.ny, rows) * rows;
      if ((ty == 1 || rows <= c.ny) && computed < best_rows) {
        best_rows = computed;
        k.ty = ty;
      }
    }
  }
  const int64_t tiles_x = CeilDiv(c.nx, int64_t(k.vec) * k.rx);  // register tiles across nx
  k.tx = fit_rows ? 1 : tiles_x >= 4 ? 4 : tiles_x >= 2 ? 2 : 1;
  k.kc = c.nr >= 1024 ? 256 : 0;
  k.pack_b = 1;
  k.unroll_r = 1;
  return k;
}

// How a channel-vectorised tile reads the input pixels.
enum class ChanPixels { kGathered, kMaterialised, kGrid };

// Vectorised over channels: 2 vectors of channels, the pixel rows fitted to the output (7 x 7
// for a 7x7 output), tiles transposed before they are stored (1.1-1.25x on a 1x1 conv with a
// 128-channel reduction, 1.06x on the stem, within noise on 3x3 convs; measured with opal
// measure), the channel tiles parallel, the weights read in place, the input gathered
// into packed A panels (pack_a 1), its im2col materialised and read in place, or the padded input
// read in place on its grid (the register tile whose blocks of a row compute the fewest columns,
// ties within 2 %: the taller; the cache tile of the most rows whose accumulators fit 128 KiB).
ContractionKnobs ChanTile(const Workload& w, const Target& t, ChanPixels pixels) {
  const Contraction ct = ChanContractionOf(w);
  ContractionKnobs k = FittedTile(ct, t, true);
  k.chan = 1;
  k.transpose = 1;
  k.order = 1;
  k.pack_b = 0;
  k.pack_a = pixels == ChanPixels::kGathered ? 1 : 0;
  k.im2col = pixels == ChanPixels::kMaterialised && Im2colEligible(w) ? 1 : 0;
  if (pixels == ChanPixels::kGrid && ChanGridEligible(w)) {
    k.grid = 1;
    k.kc = ct.nr > 512 ? 256 : 0;  // a block of weights stays in L1 across the pixel tiles
    const int max_rows = (VectorRegisters(t) - 1 - k.rx) / k.rx;
    const ConvGrid g = ConvGridOf(w);
    double best_waste = 1e9;
    int64_t best_rows = 0;
    for (int ry : {14, 12, 10, 8, 7, 6, 5, 4}) {
      if (ry > max_rows || ry > ct.ny) continue;
      const int64_t row_cols = g.RowBlocks(ry) * ry;  // grid columns computed per output row
      const double waste = double(g.oh * row_cols) / double(ct.ny);
      if (waste >= best_waste - 0.02) continue;
      best_waste = waste;
      k.ry = ry;
      best_rows = 0;
      for (int ty : {1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64}) {  // the most rows whose accumulators fit
        if (ty > 1 && int64_t(ry) * ty > ct.ny) continue;
        const int64_t rows = ChanGridRows(w, int64_t(ry) * ty);
        const int64_t buffer = rows * row_cols * k.vec * k.rx * 4;
        if (rows > best_rows && (rows == 1 || buffer <= (128 << 10))) {
          best_rows = rows;
          k.ty = ty;
        }
      }
    }
  }
  return k;
}

// Vectorised over output pixels with no cache tile (tx = ty = 1): each register tile's
// accumulators are stored to the output as soon as its reduction ends, instead of through a cache
// tile's buffer; the weights are packed once per call (pack_a 1) and the pixels read in place: the
// input itself for a 1x1 stride-1 conv, the padded grid for a stride-1 larger kernel, the
// materialised im2col otherwise. 4 vectors x 6 rows on AVX-512, 3 x 4 on AVX2 (the widest tile
// the registers hold with one broadcast). Measured with `opal measure` against the best of the
// starter KB's 32 trials: 1x1 convs 64->256 at 56x56 2.0x, 144->24 at 56x56 2.3x, 24->144 at
// 56x56 1.55x, 256->64 at 56x56 1.23x; on 1x1 convs with 512 or more input channels 0.1-0.4x
// (their pixel column of the input no longer stays in L1).
ContractionKnobs PixelTile(const Workload& w, const Target& t) {
  const Contraction c = ContractionOf(w);
  ContractionKnobs k;
  k.vec = LanesFor(c, t);
  const bool wide = VectorRegisters(t) >= 32;
  k.rx = wide ? 4 : 3;
  k.ry = wide ? 6 : 4;
  k.tx = 1;
  k.ty = 1;
  k.order = 1;
  k.pack_a = 1;
  k.pack_b = 0;
  k.unroll_r = 1;
  if (!c.b_direct) {
    if (GridEligible(w))
      k.grid = 1;
    else
      k.im2col = 1;
  }
  return k;
}

// A 1x1 stride-1 conv whose pixel tile (PixelTile) is the better default: few input channels
// (its column of 4 pixel vectors stays in L1 across the weights' rows) and many output pixels.
bool PixelTileDefault(const Workload& w) {
  return w.op() == "conv2d" && !IsDepthwiseConv(w) && ContractionOf(w).b_direct && w.Get("groups") == 1 &&
         w.Get("c") <= 256 && ContractionOf(w).nx >= 3136;
}

}  // namespace

Config ContractionDefault(const Workload& w, const Target& t) {
  ContractionKnobs k;
  k.vec = LanesFor(ContractionOf(w), t);
  // Measured on AVX2 (Zen 3): 3 vectors x 4 rows, cache tile 96 x 32; AVX-512: 3 x 8.
  k.rx = 3;
  k.ry = VectorRegisters(t) >= 32 ? 8 : 4;
  k.tx = 4;
  k.ty = 8;
  // A dense product's B is a model's weights: read in panels packed ahead of time (measured on
  // BERT's 128x3072x768 product, the same tile: 1.2-1.3x over packing B per call; on a batch-1
  // 1x1000x1280 product 3.6x, `opal measure`, 5 rounds).
  k.pack_b = w.op() == "dense" ? 3 : 1;
  k.unroll_r = 1;
  const ConfigSpace space = ContractionSpace(w, t);
  if (PixelTileDefault(w)) {
    Config pixel = Fit(PixelTile(w, t), space, w);
    if (space.Contains(pixel)) return pixel;
  }
  // Convs run vectorised over channels: on the padded grid when the kernel is larger than 1x1;
  // for a 1x1 conv the pixels read in place when the input is the im2col matrix itself (stride 1,
  // no padding), gathered into packed panels otherwise. Measured on the 126 distinct tunable
  // workloads of resnet18, mobilenet_v2, resnet50, efficientnet_b0 and googlenet (every seed
  // re-timed side by side, `opal measure --seeds --rounds 3`, docs/tuning.md): reading in place
  // reached 0.96 of the best seed (geometric mean over the 72 convs where it applies; the best on
  // 57), gathering 0.70, the GEMM-shaped tile 0.62; the grid 0.91 on the 36 convs with a larger
  // kernel (the best on 22).
  if (ChanGridEligible(w) && w.Get("kh") * w.Get("kw") > 1) {
    Config grid = Fit(ChanTile(w, t, ChanPixels::kGrid), space, w);
    if (space.Contains(grid)) return grid;
  }
  if (ChanEligible(w)) {
    // kMaterialised on a conv whose B is its input reads the pixels in place (pack_a 0).
    const ChanPixels pixels = Im2colEligible(w) ? ChanPixels::kGathered : ChanPixels::kMaterialised;
    Config chan = Fit(ChanTile(w, t, pixels), space, w);
    if (space.Contains(chan)) return chan;
  }
  return Fit(k, space, w);
}

std::vector<Config> ContractionSeeds(const Workload& w, const Target& t) {
  const ConfigSpace space = ContractionSpace(w, t);
  std::vector<Config> seeds = {ContractionDefault(w, t)};
  ContractionKnobs k = FittedTile(ContractionOf(w), t, false);
  std::vector<Config> candidates = {Fit(k, space, w)};
  if (GridEligible(w)) {  // the same tile on the padded row pitch, B read in place
    k.grid = 1;
    k.pack_b = 0;
    candidates.push_back(Fit(k, space, w));
  }
  if (Im2colEligible(w)) {  // the fitted tile reading the im2col matrix, materialised first, in place
    k.grid = 0;
    k.im2col = 1;
    k.pack_b = 0;
    candidates.push_back(Fit(k, space, w));
  }
  if (ChanEligible(w)) {  // vectorised over channels (ChanTile), each way of reading the pixels
    for (ChanPixels p : {ChanPixels::kGathered, ChanPixels::kMaterialised, ChanPixels::kGrid}) {
      ContractionKnobs chan = ChanTile(w, t, p);
      candidates.push_back(Fit(chan, space, w));
      // The same without a cache tile: 1.0-1.18x the best stored config of the starter KB on
      // 1x1 convs of 7x7 and 14x14 outputs with the cache tile removed (`opal measure`).
      chan.ty = 1;
      candidates.push_back(Fit(chan, space, w));
    }
  }
  if (w.op() == "conv2d" && !IsDepthwiseConv(w)) candidates.push_back(Fit(PixelTile(w, t), space, w));
  for (const Config& cfg : candidates) {
    if (space.Contains(cfg) && std::find(seeds.begin(), seeds.end(), cfg) == seeds.end()) seeds.push_back(cfg);
  }
  return seeds;
}

}  // namespace opal::tune
