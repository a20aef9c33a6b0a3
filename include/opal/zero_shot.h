// Zero-shot tuning: for a workload with no (or few) records, sample many valid configs, rank them
// with the cost model, and measure only the top K -- minutes instead of a full search. The
// candidates ranked are the samples, the template's seeds and the best configs of the nearest
// stored workloads (transfer); the measured ones always include the template's default config
// (the safe choice: zero-shot is never worse than the default) and the nearest workload's best.
// The K candidates are measured side by side in one process (TuningFramework::MeasureSideBySide:
// each built once, then rounds timing every one milliseconds apart), since one trial each does not
// rank them fairly (the machine's speed drifts and jumps between trials seconds apart); each one's
// record holds its per-round times, and the winner of the paired comparison (FastestSideBySide) is
// the best. A candidate that did not run there gets its own sandboxed trial (a failure its status).
#pragma once

#include <optional>
#include <string>

#include "opal/cost_model.h"
#include "opal/record_store.h"
#include "opal/tuning_framework.h"

namespace opal::costmodel {

struct ZeroShotOptions {
  int samples = 2000;     // valid configs drawn and ranked
  int measure = 8;        // top-ranked configs measured (K)
  int transfer = 8;       // also rank the best configs of this many nearest stored workloads
  bool coarse = false;    // ...on every target with the coarse key of `t` (else the exact one)
  int rounds = 7;         // rounds of the side-by-side measurement; 0: one trial per candidate
  uint64_t seed = 0;      // 0 = random
  MeasureOptions measure_options;
  std::string worker_id;
};

struct ZeroShotResult {
  int sampled = 0;
  int measured = 0;
  int failed = 0;
  double rank_s = 0;     // sampling + features + prediction
  double measure_s = 0;  // building + measuring the top K
  int side_by_side = 0;  // candidates measured side by side (0 or 1: `best` is the fastest trial)
  std::optional<Record> best;  // the fastest valid record measured (the side-by-side winner's)
  // Where `best` came from: "default" (the template's default config), "transferred" (the best
  // config of a nearby stored workload), "sampled" (a config the model ranked high) or "seed".
  std::string best_from;
};

// Every measured trial is written to `store`. Configs already in the store are not measured again
// (they are skipped when sampling). `model` may be null: then nothing is sampled, and the default
// and the transferred configs (nearest workload first) are measured, up to `measure`.
// Errors: kUnsupported (no space), the model's feature-version mismatch, the store's errors.
Result<ZeroShotResult> ZeroShotTune(TuningFramework& fw, const Workload& w, const Target& t, RecordStore& store,
                                    const CostModel* model, const ZeroShotOptions& o);

}  // namespace opal::costmodel
