// Transfer between workloads: a search on a new workload starts from what was best on the
// workloads most like it that the store already holds.
//
// Two searches of 200 trials from nothing on one workload can land on configs 20-25 % apart: the
// evolutionary search follows whichever good region it happens to find first. Workloads of one
// op that differ only in sizes tend to share their fastest schedule's shape (the register tile,
// the vector axis, the packing), so the best configs of the nearest stored workloads, moved into
// this workload's space, are strong first candidates and parents. Each is measured like any other
// trial (and counts against the budget); nothing is assumed about its speed here.
#pragma once

#include <string>
#include <vector>

#include "opal/record_store.h"
#include "opal/status.h"
#include "opal/tuning_framework.h"

namespace opal {

// How unlike two workloads are: +infinity when their ops differ; otherwise the sum, over the
// integer fields of the op, of |ln(1 + a) - ln(1 + b)|, plus 1 for every other field (dtype,
// layout, transposes) that differs. 0 for equal workloads; symmetric.
double WorkloadDistance(const Workload& a, const Workload& b);

// Up to `n` distinct configs of w's space (fw.Space(w, t)), taken from the best valid record of
// each other workload of w's op on the exact target `t` for `fw` (any version with the same major
// component), nearest workload first (WorkloadDistance; ties by workload key). Each config is
// moved into w's space with ConfigSpace::Project and dropped when it does not fit there. With
// `coarse`, records of every target with t's coarse key count (the best per workload over them).
// Empty when the store holds no other workload of the op. Errors: the store's, kUnsupported (no
// space).
Result<std::vector<Config>> TransferConfigs(const TuningFramework& fw, RecordStore& store,
                                            const Workload& w, const Target& t, int n, bool coarse = false);

// Transfer across framework versions (re-validation): up to `n` distinct configs of w's space
// taken from w's own valid records measured by an older major version of `fw` on any target with
// t's coarse key, fastest (by their old median) first, each moved into the current space
// (ConfigSpace::Project) or dropped. Their old times are not comparable with the current
// version's and are never used; the configs are worth measuring again. Errors: the store's,
// kUnsupported (no space).
Result<std::vector<Config>> OlderVersionConfigs(const TuningFramework& fw, RecordStore& store,
                                                const Workload& w, const Target& t, int n);

}  // namespace opal
