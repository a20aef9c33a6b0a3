// The 1F1B simulator against the closed form of an even pipeline, and the schedule's invariants.
#include <gtest/gtest.h>

#include <map>

#include "opal/plan_sim.h"

namespace opal::plan {
namespace {

Plan EvenPipeline(int S, int M, double f, double b, double p2p, double update) {
  Plan p;
  p.num_micro = M;
  for (int s = 0; s < S; ++s) {
    StagePlan st;
    st.first = s;
    st.end = s + 1;
    st.fwd = f;
    st.bwd = b;
    st.update = update;
    st.p2p_out = s + 1 < S ? p2p : 0;
    p.stages.push_back(st);
  }
  return p;
}

TEST(Simulator, EvenPipelineWithoutCommunicationTakesMPlusSMinusOneSteps) {
  // Textbook 1F1B: (M + S - 1) (f + b), then the optimizer step.
  for (int S : {1, 2, 4, 7})
    for (int M : {1, 3, 8, 32}) {
      SimResult r = SimulateIteration(EvenPipeline(S, M, 1.0, 2.0, 0, 0.5));
      EXPECT_NEAR(r.iter_time, (M + S - 1) * 3.0 + 0.5, 1e-9) << "S=" << S << " M=" << M;
    }
}

TEST(Simulator, ScheduleInvariants) {
  const int S = 4, M = 9;
  Plan p = EvenPipeline(S, M, 0.7, 1.3, 0.1, 0.2);
  p.stages[2].fwd = 1.5;  // an uneven stage
  SimResult r = SimulateIteration(p);
  std::map<int, std::vector<const SimEvent*>> by_stage;
  std::map<std::pair<int, int>, double> fwd_end, bwd_end;
  for (const auto& e : r.events) {
    by_stage[e.stage].push_back(&e);
    if (e.kind == SimEvent::Kind::kForward) fwd_end[{e.stage, e.micro}] = e.end;
    if (e.kind == SimEvent::Kind::kBackward) bwd_end[{e.stage, e.micro}] = e.end;
  }
  for (int s = 0; s < S; ++s) {
    int f = 0, b = 0, in_flight = 0, max_in_flight = 0;
    double last_end = 0;
    for (const SimEvent* e : by_stage[s]) {
      EXPECT_GE(e->start, last_end - 1e-12) << "stage " << s << " runs two things at once";
      last_end = e->end;
      if (e->kind == SimEvent::Kind::kForward)
        max_in_flight = std::max(max_in_flight, ++in_flight), ++f;
      if (e->kind == SimEvent::Kind::kBackward) --in_flight, ++b;
    }
    EXPECT_EQ(f, M);
    EXPECT_EQ(b, M);
    EXPECT_LE(max_in_flight, S - s);  // the 1F1B memory bound
    for (int j = 0; j < M; ++j) {
      const auto here = std::make_pair(s, j), before = std::make_pair(s - 1, j),
                 after = std::make_pair(s + 1, j);
      if (s > 0) {
        EXPECT_GE(fwd_end[here], fwd_end[before] + 0.1 + p.stages[s].fwd - 1e-9);
      }
      if (s + 1 < S) {
        EXPECT_GE(bwd_end[here], bwd_end[after] + 0.1 + p.stages[s].bwd - 1e-9);
      }
    }
  }
  // The slow stage bounds the steady state: at least M of its forward+backward.
  EXPECT_GE(r.iter_time, M * (1.5 + 1.3));
}

}  // namespace
}  // namespace opal::plan
