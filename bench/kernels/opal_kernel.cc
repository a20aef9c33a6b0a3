// opal's chosen config as a prepared kernel on buffers of its own, so that it can be timed in
// alternating rounds with the peers (main.cc).
#include <vector>

#include "baselines.h"
#include "opal/contraction.h"
#include "opal/tuning_kernel.h"

namespace opal::bench {
namespace {

class OpalKernel : public PeerKernel {
 public:
  OpalKernel(const Workload& w, std::unique_ptr<tune::Kernel> k) : k_(std::move(k)), in_(RandomInputs(w, 3)) {
    for (const auto& a : in_) ptrs_.push_back(a.data());
    out_ = std::make_unique<tune::AlignedFloats>(tune::NumElements(tune::OperandsOf(w).output));
    k_->Prepare(ptrs_);  // weights re-laid out once, outside the timing (as the tuner measures)
  }
  std::string Impl() const override { return "halide"; }
  void Run() override { ok_ = k_->Run(ptrs_, out_->data()).ok() && ok_; }
  bool ok() const { return ok_; }

 private:
  std::unique_ptr<tune::Kernel> k_;
  std::vector<tune::AlignedFloats> in_;
  std::vector<const float*> ptrs_;
  std::unique_ptr<tune::AlignedFloats> out_;
  bool ok_ = true;
};

}  // namespace

std::unique_ptr<PeerKernel> MakeOpalKernel(const Workload& w, const Config& config, std::string* why) {
  auto k = tune::BuildHalideKernel(w, config);
  if (!k.ok()) {
    *why = k.status().message();
    return nullptr;
  }
  auto kernel = std::make_unique<OpalKernel>(w, std::move(*k));
  kernel->Run();
  if (!kernel->ok()) {
    *why = "opal kernel failed to run";
    return nullptr;
  }
  return kernel;
}

}  // namespace opal::bench
