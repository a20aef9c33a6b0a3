// JIT kernels of the contraction template for the tuner: DefineContraction compiled for the host.
#include "opal/tuning_kernel.h"

#include <cstdlib>

#include "tune/contraction.h"
#include "tune/contraction_halide.h"
#include "tune/contraction_space.h"
#include "tune/halide_target.h"
#include "runtime/thread_pool.h"

namespace opal::tune {
namespace {

// The JIT kernel's parallel loops run on the built models' thread pool (runtime/thread_pool.h),
// not on Halide's JIT pool: the pools differ most on small kernels (Halide's workers sleep between
// loops, a wake-up per call), and a schedule must be ranked by what it costs in a model.
int JitParFor(Halide::JITUserContext* ctx, int (*task)(Halide::JITUserContext*, int, uint8_t*),
              int min, int size, uint8_t* closure) {
  return opal_rt::PoolDoParFor(ctx, reinterpret_cast<halide_task_t>(task), min, size, closure);
}

class HalideKernel : public Kernel {
 public:
  // `knobs`: the config, whose weights layout (PackedWeightsShape) the pipeline reads when
  // `packed` is not empty.
  HalideKernel(ContractionFuncs f, const Workload& w, const ContractionKnobs& knobs)
      : f_(std::move(f)), pipeline_(f_.out), w_(w), knobs_(knobs), packed_shape_(f_.packed_weights) {}

  void Prepare(const std::vector<const float*>& inputs) override {
    if (packed_shape_.empty()) return;
    const int64_t n = NumElements(packed_shape_);
    if (!packed_) {
      packed_.reset(static_cast<float*>(std::aligned_alloc(64, (size_t(n) * sizeof(float) + 63) / 64 * 64)));
      OPAL_CHECK(packed_ != nullptr, "out of memory packing {} weights", n);
    }
    PackWeights(w_, knobs_, inputs[1], packed_.get());
    packed_from_ = inputs[1];
  }

  Status Compile() {
    try {
      const Halide::Target& target = HostHalideTarget();
      // Debug aid: OPAL_HALIDE_DUMP=PREFIX writes PREFIX.stmt (lowered loop nest) and PREFIX.s.
      if (const char* dump = std::getenv("OPAL_HALIDE_DUMP"); dump && *dump) {
        pipeline_.compile_to_lowered_stmt(std::string(dump) + ".stmt", pipeline_.infer_arguments());
        pipeline_.compile_to_assembly(std::string(dump) + ".s", pipeline_.infer_arguments(),
                                      "kernel", target);
      }
      pipeline_.jit_handlers().custom_do_par_for = JitParFor;
      pipeline_.compile_jit(target);
    } catch (const Halide::Error& e) {
      return Error(ErrorCode::kFailed, "halide build failed: {}", HalideErrorLine(e.what()));
    }
    return Status::Ok();
  }

  Status Run(const std::vector<const float*>& inputs, float* output) override {
    try {
      if (!packed_shape_.empty() && inputs[1] != packed_from_) Prepare(inputs);
      for (size_t i = 0; i < f_.params.size(); ++i) {
        const float* data = !packed_shape_.empty() && i == 1 ? packed_.get() : inputs[i];
        f_.params[i].set(Wrap(const_cast<float*>(data), f_.views[i]));
      }
      Halide::Buffer<float> out = Wrap(output, f_.out_view);
      pipeline_.realize(out);
    } catch (const Halide::Error& e) {
      return Error(ErrorCode::kFailed, "kernel run failed: {}", HalideErrorLine(e.what()));
    }
    return Status::Ok();
  }

 private:
  static Halide::Buffer<float> Wrap(float* data, const HalideView& v) {
    std::vector<halide_dimension_t> dims;
    for (const HalideDim& d : v) {
      dims.push_back(
          halide_dimension_t(0, static_cast<int32_t>(d.extent), static_cast<int32_t>(d.stride)));
    }
    return Halide::Buffer<float>(data, static_cast<int>(dims.size()), dims.data());
  }

  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  ContractionFuncs f_;
  Halide::Pipeline pipeline_;
  Workload w_;
  ContractionKnobs knobs_;
  std::vector<int64_t> packed_shape_;  // empty: the weights are read as given
  std::unique_ptr<float, Free> packed_;
  const float* packed_from_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<Kernel>> BuildHalideKernel(const Workload& w, const Config& config,
                                                  const KernelBuildOptions& options) {
  ContractionOptions co;
  co.inject_wrong_result = options.inject_wrong_result;
  OPAL_ASSIGN_OR_RETURN(ContractionFuncs f, DefineContraction(w, config, co));
  auto kernel = std::make_unique<HalideKernel>(std::move(f), w, ContractionKnobs::From(config));
  OPAL_RETURN_IF_ERROR(kernel->Compile());
  return std::unique_ptr<Kernel>(std::move(kernel));
}

std::string HalideVersionString() { return "14.0.0"; }

std::string HalideLlvmVersionString() {
  return std::to_string(Halide::Internal::get_llvm_version() / 10);
}

}  // namespace opal::tune
