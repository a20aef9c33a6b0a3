// The Halide tuning framework: the "contraction" template for dense, batch_matmul and conv2d.
#include <unistd.h>

#include <cmath>

#include "tune/halide_framework.h"
#include "opal/version.h"
#include "tune/contraction.h"
#include "tune/contraction_space.h"
#include "opal/tuning_kernel.h"
#include "tune/kernel_measure.h"

namespace opal {
namespace {

using tune::Contraction;
using tune::ContractionKnobs;

double Log2(double v) { return std::log2(std::max(v, 1.0)); }

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

class HalideFramework : public TuningFramework {
 public:
  std::string Name() const override { return "halide"; }
  // 1: the contraction template as first released.
  // 2: edge tiles shift inwards; cache tiles larger than the output excluded.
  // 3: measured as a model runs them: parallel loops on the model runtime's thread pool, and the
  //    activations rewritten by all its threads before each timed call (kernel_measure.cc).
  //    Times of version 2 favour schedules that run on one core.
  //    Since 2026-12-07 a config whose parallel loop would have one iteration gets par 2's loop
  //    (EffectivePar of contraction_space.h). Not a new version: only configs that ran on
  //    one core changed, and only got faster than their stored times, while a new version would
  //    set aside every record of the knowledge base and its cost model (both key on it).
  //    Likewise, a conv parallel over batches (or groups) makes each batch's grid or im2col inside
  //    that loop (PerBatchOperands): faster for all but one of the shapes measured (0.94x there;
  //    docs/tuning.md), and the builder re-times the candidates of a model on this host.
  std::string Version() const override { return "3"; }

  Provenance GetProvenance() const override {
    Provenance p;
    p.opal_version = OPAL_VERSION;
#if defined(__clang__)
    p.compiler = fmt::format("clang {}", __clang_version__);
#elif defined(__GNUC__)
    p.compiler = fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
    p.halide_version = tune::HalideVersionString();
    p.llvm_version = tune::HalideLlvmVersionString();
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    p.host = host;
    return p;
  }

  // Depthwise convolutions are built with a direct kernel, not this template (contraction.h).
  bool Supports(const Workload& w) const override {
    return tune::SupportedWorkload(w) && !tune::IsDepthwiseConv(w);
  }

  Result<ConfigSpace> Space(const Workload& w, const Target& t) const override {
    if (!Supports(w)) {
      return Error(ErrorCode::kUnsupported,
                   "halide framework: no template for {} (fp32 dense, batch_matmul and "
                   "non-depthwise NCHW conv2d are supported)",
                   w.Summary());
    }
    if (t.kind != "cpu")
      return Error(ErrorCode::kUnsupported, "halide framework: only CPU targets, not '{}'", t.kind);
    return tune::ContractionSpace(w, t);
  }

  std::vector<Config> SeedConfigs(const Workload& w, const Target& t) const override {
    if (!Supports(w) || t.kind != "cpu") return {};
    return tune::ContractionSeeds(w, t);
  }

  std::string FormOf(const Config& c) const override {
    if (c.template_name != tune::kContractionTemplate) return "";
    const tune::ContractionKnobs k = tune::ContractionKnobs::From(c);
    return fmt::format("chan={} grid={} im2col={} pack_a={} pack_b={} transpose={}", k.chan, k.grid, k.im2col,
                       k.pack_a, k.pack_b, k.transpose);
  }

  TrialResult Measure(const Workload& w, const Config& c, const Target& t,
                      const MeasureOptions& options) override {
    auto space = Space(w, t);
    if (!space.ok() || !space->Contains(c)) {
      TrialResult r;
      r.status = TrialStatus::kBuildError;
      r.error = space.ok() ? "config is not in the workload's space" : space.status().message();
      return r;
    }
    InjectedFault fault = options.inject_fault ? options.inject_fault(c) : InjectedFault::kNone;
    return tune::MeasureKernel(w, t, Builder(w, c), options, fault);
  }

  // All the configs' kernels in one sandboxed child, timed milliseconds apart. The space is
  // computed once here; a config outside it gets a builder that only reports so.
  std::vector<std::vector<double>> MeasureSideBySide(const Workload& w,
                                                     const std::vector<Config>& configs,
                                                     const Target& t, const MeasureOptions& options,
                                                     int rounds,
                                                     std::vector<std::string>* errors) override {
    auto space = Space(w, t);
    std::vector<tune::KernelBuilder> builds;
    for (const Config& c : configs) {
      if (space.ok() && space->Contains(c)) {
        builds.push_back(Builder(w, c));
        continue;
      }
      Status why = space.ok() ? Error(ErrorCode::kInvalidArgument, "config is not in the workload's space")
                              : space.status();
      builds.push_back([why](bool) -> Result<std::unique_ptr<tune::Kernel>> { return why; });
    }
    return tune::MeasureKernelsSideBySide(w, t, builds, options, rounds, errors);
  }

 private:
  // Compiles `c` for `w` (in the measuring child).
  static tune::KernelBuilder Builder(const Workload& w, const Config& c) {
    return [&w, c](bool wrong) {
      tune::KernelBuildOptions ko;
      ko.inject_wrong_result = wrong;
      return tune::BuildHalideKernel(w, c, ko);
    };
  }

 public:
  std::vector<std::string> FeatureNames() const override {
    return {"op_dense",
            "op_batch_matmul",
            "op_conv2d",
            "log2_nx",
            "log2_ny",
            "log2_nb",
            "log2_nr",
            "log2_flops",
            "conv_kh",
            "conv_kw",
            "conv_stride",
            "conv_dilation",
            "conv_groups_log2",
            "conv_pad",
            "trans_a",
            "trans_b",
            "b_direct",
            "vec",
            "rx",
            "ry",
            "tx",
            "ty",
            "kc",
            "unroll_r",
            "order",
            "inner",
            "par",
            "pack_a",
            "pack_b",
            "conv_grid",
            "conv_im2col",
            "conv_chan",
            "conv_chan_transpose",
            "reg_cols",
            "reg_rows",
            "regs_used_frac",
            "log2_acc_tile_bytes",
            "log2_b_block_bytes",
            "b_block_l1_frac",
            "pad_waste_x",
            "pad_waste_y",
            "log2_parallel_tasks",
            "tasks_per_core",
            "reg_intensity",
            "target_cores",
            "target_vector_bits",
            "log2_l1",
            "log2_l2",
            "log2_l3",
            "log2_operand_bytes",
            "log2_flops_per_operand_byte",
            "log2_repacked_bytes",
            "repacked_bytes_per_flop",
            "cache_tile_l2_frac",
            "operands_l2_frac",
            "log2_flops_per_task"};
  }

  std::vector<double> Features(const Workload& w, const Config& c, const Target& t) const override {
    const ContractionKnobs k = ContractionKnobs::From(c);
    const Contraction ct = tune::ContractionFor(w, k);  // what the config's tiles divide
    const Contraction cw = tune::ContractionOf(w);      // the workload's own shape
    const bool conv = w.op() == "conv2d", dense = w.op() == "dense";
    const double RX = double(k.vec) * k.rx, RY = k.ry;
    const double TX = RX * k.tx, TY = RY * k.ty;
    const double reduction_block = k.kc > 0 ? k.kc : double(ct.nr);
    const double l1 = t.l1d_bytes > 0 ? double(t.l1d_bytes) : 32768.0;
    const double tiles_x = double(CeilDiv(ct.nx, int64_t(TX))),
                 tiles_y = double(CeilDiv(ct.ny, int64_t(TY)));
    double tasks = double(tune::ParallelTasks(k.par, k.order, ct, int64_t(TX), int64_t(TY)));
    const double cores = std::max(1, t.cores);
    std::vector<double> f = {double(dense),
                             double(w.op() == "batch_matmul"),
                             double(conv),
                             Log2(double(cw.nx)),
                             Log2(double(cw.ny)),
                             Log2(double(cw.nb)),
                             Log2(double(cw.nr)),
                             Log2(w.Flops()),
                             conv ? double(w.Get("kh")) : 0,
                             conv ? double(w.Get("kw")) : 0,
                             conv ? double(w.Get("stride_h")) : 0,
                             conv ? double(w.Get("dilation_h")) : 0,
                             conv ? Log2(double(w.Get("groups"))) : 0,
                             conv ? double(w.Get("pad_top") + w.Get("pad_left")) : 0,
                             dense ? double(w.json().at("trans_a").get<bool>()) : 0,
                             dense ? double(w.json().at("trans_b").get<bool>()) : 0,
                             double(cw.b_direct),
                             double(k.vec),
                             double(k.rx),
                             double(k.ry),
                             double(k.tx),
                             double(k.ty),
                             double(k.kc),
                             double(k.unroll_r),
                             double(k.order),
                             double(k.inner),
                             double(k.par),
                             double(k.pack_a),
                             double(k.pack_b),
                             double(k.grid),
                             double(k.im2col),
                             double(k.chan),
                             double(k.transpose),
                             RX,
                             RY,
                             double(k.rx * k.ry + k.rx + 1) / tune::VectorRegisters(t),
                             Log2(TX * TY * 4),
                             Log2(reduction_block * RX * 4),
                             reduction_block * RX * 4 / l1,
                             double(CeilDiv(ct.nx, int64_t(RX))) * RX / double(ct.nx),
                             double(CeilDiv(ct.ny, int64_t(RY))) * RY / double(ct.ny),
                             Log2(tasks),
                             tasks / cores,
                             RX * RY / (RX + RY),
                             cores,
                             double(t.VectorBits()),
                             Log2(l1),
                             Log2(double(t.l2_bytes)),
                             Log2(double(t.l3_bytes))};
    // What the config costs in memory traffic (docs/costmodel.md): the operands' bytes against the
    // work (arithmetic intensity); the bytes re-laid out on every call (packing a 64 MB weight
    // matrix per call of a batch-1 product is what a model without these terms cannot see); the
    // cache tile's working set against L2; the work per parallel task.
    const double a_bytes = 4.0 * double(ct.ny) * double(ct.nr) * double(ct.nb);
    const double b_bytes = 4.0 * double(ct.nx) * double(ct.nr) * double(ct.nb);
    const double c_bytes = 4.0 * double(ct.nx) * double(ct.ny) * double(ct.nb);
    const double operands = a_bytes + b_bytes + c_bytes;
    double repacked = 0;
    if (k.pack_b == 1) repacked += b_bytes;
    if (k.pack_b == 2) repacked += b_bytes * std::max(1.0, k.order == 1 ? 1.0 : tiles_y);
    if (k.pack_a == 1 && !PacksConvWeightsAhead(w, k)) repacked += a_bytes;
    if (k.pack_a == 2) repacked += a_bytes * std::max(1.0, k.order == 0 ? 1.0 : tiles_x);
    if (k.im2col == 1) repacked += conv ? b_bytes : 0;
    if (k.grid == 1) repacked += conv ? 4.0 * double(w.Get("c")) * double(w.Get("h")) * double(w.Get("w")) : 0;
    const double l2 = t.l2_bytes > 0 ? double(t.l2_bytes) : 1048576.0;
    const double tile_set = 4.0 * (TY * reduction_block + reduction_block * TX + TX * TY);
    const std::vector<double> traffic = {Log2(operands),
                                         Log2(w.Flops() / operands),
                                         Log2(1 + repacked),
                                         repacked / w.Flops(),
                                         tile_set / l2,
                                         operands / l2,
                                         Log2(w.Flops() / std::max(1.0, tasks))};
    f.insert(f.end(), traffic.begin(), traffic.end());
    return f;
  }
};

}  // namespace

std::unique_ptr<TuningFramework> MakeHalideFramework() { return std::make_unique<HalideFramework>(); }

}  // namespace opal
