// TuningFramework: the framework-agnostic layer of tuning (Lorien's idea). A framework knows
// which workloads it can compile, what schedule space each has, how to build and measure one
// config, and how to describe a (workload, config, target) as numbers for a cost model. Halide is
// the first framework ("halide"); a CUDA or vendor-library framework plugs in behind the same
// interface. No framework type (Halide or other) appears in this header.
//
// Measurement contract (every framework): the candidate is built and run in a process of its own
// so that a crash or hang cannot take the tuner down; a crash is TrialStatus::kCrash, a run past
// its wall limit kTimeout, a result that differs from the naive reference kernel on fresh random
// inputs (never zeros) kMismatch; only kOk trials carry times. Timed runs on one machine never
// overlap (a device lock); builds may. Measure never throws and never aborts.
//
// Thread safety: Supports/Space/Features are const and thread-safe; Measure may be called from
// several threads or processes at once (the device lock serializes the timed part).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opal/record.h"
#include "opal/status.h"
#include "opal/target.h"
#include "opal/tuning_space.h"
#include "opal/workload.h"

namespace opal {

// Test-only fault injection: makes the measuring process misbehave for chosen configs so that
// tests can check that broken candidates become failed records and tuning goes on.
enum class InjectedFault { kNone, kCrash, kHang, kWrongResult, kBuildError };

struct MeasureOptions {
  int warmup = 1;                // untimed runs before the timed repeats
  int repeats = 5;               // timed repeats; the record keeps each one and their median
  double min_repeat_s = 0.02;    // a repeat loops the kernel until it lasts at least this long
  int threads = 0;               // kernel threads; 0 = Target::cores
  double build_timeout_s = 120;  // wall limit for compiling one candidate
  double run_timeout_s = 20;     // wall limit for verification + warm-up + repeats (lock held)
  // Device lock file: timed runs of every opal process on this machine take it (flock).
  // "" = $OPAL_DEVICE_LOCK, else /tmp/opal-device-<target coarse key>.lock.
  std::string lock_path;
  bool verify = true;  // compare against the reference kernel before timing
  uint64_t seed = 0;   // 0 = a fresh seed per trial (inputs are always random, nonzero)
  // Test-only hook: which fault to inject for a config (empty = none).
  std::function<InjectedFault(const Config&)> inject_fault;
};

// Outcome of one measured config; becomes a Record.
struct TrialResult {
  TrialStatus status = TrialStatus::kOk;
  std::string error;            // why it failed; "" when kOk
  std::vector<double> times_s;  // per kernel call, one entry per repeat, in run order
  double build_s = 0;           // wall time of the compile
  double max_abs_error = 0;     // largest |kernel - reference| seen during verification
};

class TuningFramework {
 public:
  virtual ~TuningFramework() = default;

  // "halide": stored in Record::framework.
  virtual std::string Name() const = 0;
  // Bumped whenever the meaning of a config (the space or the code it generates) changes.
  virtual std::string Version() const = 0;
  // Versions of the compiler stack the records were produced with.
  virtual Provenance GetProvenance() const = 0;

  // Whether this framework can compile `w` (op, dtype, layout). Unsupported workloads are
  // skipped by the tuner with a message.
  virtual bool Supports(const Workload& w) const = 0;
  // The schedule space of `w` on `t` (kUnsupported when !Supports(w)).
  virtual Result<ConfigSpace> Space(const Workload& w, const Target& t) const = 0;

  // Configs known to be good starting points for `w` (may be empty); all in Space(w, t).
  virtual std::vector<Config> SeedConfigs(const Workload& w, const Target& t) const { return {}; }

  // The form of `c`: the knobs that decide the shape of the generated code (which operands are
  // copied or packed, what is vectorised), not its tile sizes. Configs of one form tend to rank
  // alike from machine to machine; configs of different forms do not. "" (one form) by default.
  virtual std::string FormOf(const Config& c) const { return ""; }

  // Builds `c` for `w` and measures it on this host (which must be `t`). Never throws.
  virtual TrialResult Measure(const Workload& w, const Config& c, const Target& t,
                              const MeasureOptions& options) = 0;

  // Measures `configs` of `w` side by side on this host (`t`): `rounds` rounds, each timing every
  // config once, the order rotating each round. Returns per config its seconds per call in each
  // round it ran (empty when it failed; why in `errors`, when given). This default calls Measure
  // per config and round (median of its repeats); a framework that can keep several kernels in one
  // process times them milliseconds apart instead, so that a round's times compare even when the
  // machine's speed jumps between rounds.
  virtual std::vector<std::vector<double>> MeasureSideBySide(
      const Workload& w, const std::vector<Config>& configs, const Target& t,
      const MeasureOptions& options, int rounds, std::vector<std::string>* errors);

  // A fixed-length numeric description of (w, c, t) for the cost model: workload fields,
  // knob values and derived quantities (tile bytes, register use, parallel tasks, padding
  // waste, arithmetic intensity). Same length and order as FeatureNames() for every input.
  virtual std::vector<double> Features(const Workload& w, const Config& c,
                                       const Target& t) const = 0;
  virtual std::vector<std::string> FeatureNames() const = 0;
};

// The frameworks opal knows: "halide". kInvalidArgument for another name.
Result<std::unique_ptr<TuningFramework>> MakeTuningFramework(std::string_view name);

// Builds the Record of one trial (all fields, finalized with the workload's FLOPs).
Record MakeTrialRecord(const TuningFramework& fw, const Workload& w, const Target& t,
                       const Config& c, const TrialResult& r, const std::string& worker_id = "");

}  // namespace opal
