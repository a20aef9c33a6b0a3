// Zero-shot tuning: for a workload with no (or few) records, sample many valid configs, rank them
// with the cost model, and measure only the top K -- minutes instead of a full search. The
// candidates ranked are the samples, the template's seeds and the best configs of the nearest
// stored workloads (transfer); the measured ones always include the template's default config
// (the safe choice: zero-shot is never worse than the default) and the nearest workload's best.
// One trial each does not rank them fairly (the machine's speed drifts and jumps between trials
// seconds apart), so the fastest few and the default are then re-timed side by side
// (RetimeSideBySide) and the winner of that is the best. The re-timings are stored as trials too
// (one record per re-timed config, its per-round times).
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
  int retime =
      3;  // re-time this many of the fastest measured (and the default) side by side; <= 1: no
  int retime_rounds = 7;  // rounds of that re-timing
  uint64_t seed = 0;      // 0 = random
  MeasureOptions measure_options;
  std::string worker_id;
};

struct ZeroShotResult {
  int sampled = 0;
  int measured = 0;
  int failed = 0;
  double rank_s = 0;     // sampling + features + prediction
  double measure_s = 0;  // building + measuring the top K, and re-timing the fastest
  int retimed = 0;  // configs re-timed side by side to choose `best` (0: chosen by one trial each)
  std::optional<Record>
      best;  // the fastest valid record measured (the re-timing's winner, when re-timed)
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
