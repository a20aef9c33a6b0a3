// Event-level simulation of one 1F1B iteration.
//
// A transfer between stages takes p2p seconds on the sender right after its compute (blocking
// send); the data is there when the send ends. The receiver's blocking receive takes the same
// p2p seconds, overlapping the send when the receiver was already waiting and after it becomes
// free otherwise. So a stage pays every send and receive of its own (as the estimate's c_s does),
// and the pipeline fill pays each hop once. After its last backward a stage sums the tied
// parameters' gradients with its partner stage (first and last), all-reduces its gradients
// across its replicas and steps the optimizer.
#include <algorithm>
#include <vector>

#include "opal/plan_sim.h"

namespace opal::plan {
namespace {

struct Op {
  bool fwd;
  int micro;
};

std::vector<Op> OneFOneB(int s, int S, int M) {
  std::vector<Op> ops;
  int warm = std::min(S - s - 1, M);
  for (int j = 0; j < warm; ++j) ops.push_back({true, j});
  for (int i = 0; i + warm < M; ++i) {
    ops.push_back({true, warm + i});
    ops.push_back({false, i});
  }
  for (int j = M - warm; j < M; ++j) ops.push_back({false, j});
  return ops;
}

}  // namespace

SimResult SimulateIteration(const Plan& plan) {
  const int S = static_cast<int>(plan.stages.size()), M = plan.num_micro;
  SimResult res;
  std::vector<std::vector<Op>> ops(S);
  for (int s = 0; s < S; ++s) ops[s] = OneFOneB(s, S, M);
  // Arrival time of micro-batch j's activation at stage s (fwd) and of its gradient (bwd);
  // negative = not yet produced.
  std::vector<std::vector<double>> act_at(S, std::vector<double>(M, -1)),
      grad_at(S, std::vector<double>(M, -1));
  std::vector<std::vector<double>> fwd_done(S, std::vector<double>(M, -1));
  for (int j = 0; j < M; ++j) act_at[0][j] = 0;
  std::vector<size_t> next(S, 0);
  std::vector<double> free_at(S, 0);
  size_t remaining = 0;
  for (const auto& v : ops) remaining += v.size();
  while (remaining > 0) {
    bool progress = false;
    for (int s = 0; s < S; ++s) {
      while (next[s] < ops[s].size()) {
        const Op op = ops[s][next[s]];
        const StagePlan& st = plan.stages[s];
        double start = free_at[s];
        if (op.fwd) {
          if (act_at[s][op.micro] < 0) break;
          if (s > 0) {  // receive
            double p2p = plan.stages[s - 1].p2p_out;
            double rs = std::max(free_at[s], act_at[s][op.micro] - p2p);
            start = rs + p2p;
          }
          double end = start + st.fwd;
          res.events.push_back({s, op.micro, SimEvent::Kind::kForward, start, end});
          fwd_done[s][op.micro] = end;
          if (s + 1 < S) {
            res.events.push_back({s, op.micro, SimEvent::Kind::kSend, end, end + st.p2p_out});
            end += st.p2p_out;
            act_at[s + 1][op.micro] = end;
          } else {
            grad_at[s][op.micro] = end;  // loss computed: backward may start
          }
          free_at[s] = end;
        } else {
          if (grad_at[s][op.micro] < 0) break;
          if (s + 1 < S) {
            double p2p = st.p2p_out;
            double rs = std::max(free_at[s], grad_at[s][op.micro] - p2p);
            start = rs + p2p;
          } else {
            start = std::max(free_at[s], grad_at[s][op.micro]);
          }
          double end = start + st.bwd;
          res.events.push_back({s, op.micro, SimEvent::Kind::kBackward, start, end});
          if (s > 0) {
            double p2p = plan.stages[s - 1].p2p_out;
            res.events.push_back({s, op.micro, SimEvent::Kind::kSend, end, end + p2p});
            end += p2p;
            grad_at[s - 1][op.micro] = end;
          }
          free_at[s] = end;
        }
        ++next[s];
        --remaining;
        progress = true;
      }
    }
    OPAL_CHECK(progress, "1F1B simulation made no progress (schedule bug)");
  }
  // The tied parameters' all-reduce joins the first and the last stage: it starts when both are
  // done with their backwards.
  const double tied_start = S > 1 ? std::max(free_at[0], free_at[S - 1]) : 0;
  for (int s = 0; s < S; ++s) {
    const StagePlan& st = plan.stages[s];
    double t = free_at[s];
    if (st.tied_allreduce > 0) {
      t = std::max(t, tied_start);
      res.events.push_back({s, -1, SimEvent::Kind::kAllReduce, t, t + st.tied_allreduce});
      t += st.tied_allreduce;
    }
    if (st.allreduce > 0) {
      res.events.push_back({s, -1, SimEvent::Kind::kAllReduce, t, t + st.allreduce});
      t += st.allreduce;
    }
    res.events.push_back({s, -1, SimEvent::Kind::kUpdate, t, t + st.update});
    t += st.update;
    res.iter_time = std::max(res.iter_time, t);
  }
  return res;
}

}  // namespace opal::plan
