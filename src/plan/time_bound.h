// A lower bound on the iteration time of every plan of one micro-batch size, for the search's
// stated gap to optimum (internal to opal_plan).
//
// An iteration takes T = fill + (M - 1) C + tail (PipelineSeconds): fill = sum of the stages'
// forward+backward and transfers, C = the largest stage cycle, tail = the largest stage tail
// (gradient all-reduce + optimizer step). The bound relaxes the plan to a linear program for
// every cycle C and tail tau: each layer goes (fractionally) to stage configurations c; a stage
// of c whose cycle is <= C and tail <= tau holds at most k_c(C, tau) layers (its memory, its k
// fastest layers with its side of two transfers, its k lightest tails), so each of its layers
// takes at least gpus_c / k_c of the GPUs of c's pools (or a tighter charge: StageCharges), and the
// GPUs used of every pool are at most its count. The fill is at least the layers' forward+backward
// on their configurations plus one side of a transfer per stage. Each program is bounded from below
// by its Lagrangian dual (one multiplier per pool: any multipliers give a valid bound), and the (C,
// tau) plane is covered by boxes refined best-first: a box [C0, C1] x [tau0, tau1] is bounded by (M
// - 1) C0 + tau0 + fill(C1, tau1), since fewer layers fit every stage at smaller C and tau.
#pragma once

#include <chrono>
#include <vector>

#include "plan/search_space.h"

namespace opal::plan {

struct TimeBound {
  double seconds = 0;      // no plan of the space takes less per iteration
  long long programs = 0;  // dual programs evaluated
  bool exhausted = false;  // the deadline stopped the refinement (the bound is still valid)
  // Where the relaxation is cheapest (the box that set the bound; cycle = 0: none): its cycle
  // and tail, and per pool the one-pool configuration its layers are priced cheapest on (index
  // into the space's configs, -1: none). The search seeds plans with them.
  double cycle = 0, tail = 0;
  std::vector<int> pool_config;
};

// Stages per layer that a relaxation charges a stage configuration, per class of equal layers
// (`count` members; `fb`, `tail`: the smallest forward+backward and tail of a member on the
// configuration), for stages whose cycle is <= C and tail <= tau: a plan has at least
// sum over its layers on the configuration of their charge stages of it. Three charges are
// valid, one of them is used per configuration (never several):
//  - uniform: 1 / k_all (k_all: the most layers of any class one stage holds);
//  - the most numerous class `big`: 1 / k_big for its layers, 0 for the others, k_big the most
//    of its layers one stage holds: at most k_big_mem (memory), floor((C - cycle_p2p) / fb) and
//    floor(tau / tail) (an embedding or head held beside them does not lower what the blocks
//    are charged, as the uniform charge's k_all, counting such cheap layers, does);
//  - time: fb / (C - cycle_p2p), the stage's layers' forward+backward within its cycle less its
//    side of two transfers.
// Returns the one with the largest total over the classes' members (all zero when none applies).
struct ClassFigures {
  int count = 0;
  double fb = 0, tail = 0;
};
std::vector<double> StageCharges(const std::vector<ClassFigures>& classes, int big, int k_all,
                                 int k_big_mem, double cycle_p2p, double C, double tau);

// The bound for the space's micro-batch with every GPU of the cluster available. `stop_at`:
// refinement stops once the bound reaches it (plans slower than that do not matter to the
// caller); `deadline`: refinement stops then, returning the bound proven so far. At least the
// space's own bound (lb_sum + (M - 1) x the cycle bounds).
TimeBound PlanTimeLowerBound(const PlanContext& ctx, const SpaceForBatch& sp,
                             const ModelPrefix& pre, double stop_at,
                             std::chrono::steady_clock::time_point deadline);

}  // namespace opal::plan
