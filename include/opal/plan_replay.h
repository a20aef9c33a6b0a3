// Replays of measured plans (Sailor's validation format) as a report: per plan the predicted and
// measured iteration time, peak memory and gradient reduction; per set and over all sets the
// mean absolute percentage errors; optionally the leave-one-out memory predictions (each run's
// peak predicted with memory coefficients fitted on all the other runs). Text for people, JSON
// (format opal.replay/2) for scripts.
#pragma once

#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/plan_fit.h"
#include "opal/plan_sim.h"

namespace opal::plan {

struct ReplaySummary {
  std::vector<std::string> dirs;
  std::vector<ReplayReport> sets;  // one per directory
  // Leave-one-out, over the replayed rows of all sets that have a measured peak, in order:
  // each peak predicted with coefficients fitted on the others. Empty when not asked for.
  std::vector<double> loo_memory;
  double loo_mape_memory = 0;
};

// The replayed rows with a measured peak as memory observations, in set and row order.
std::vector<MemoryObservation> MemoryObservations(const ReplaySummary& s);

// Fills loo_memory and loo_mape_memory. kInvalidArgument when too few runs have a measured peak.
Status AddLeaveOneOut(ReplaySummary* s, double default_reserve);

std::string ReplayText(const ReplaySummary& s);
Json ReplayJson(const ReplaySummary& s);

}  // namespace opal::plan
