#include <algorithm>
#include <map>
#include <numeric>

#include "opal/cost_model.h"

namespace opal {

Json RankingScores::ToJson() const {
  return {{"pairwise_accuracy", pairwise_accuracy}, {"top1", top1}, {"top5", top5}, {"r2", r2}, {"groups", groups}};
}

RankingScores ScoreRanking(const std::vector<TrainingRow>& rows, const std::vector<double>& scores) {
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < rows.size(); ++i) groups[rows[i].group].push_back(i);
  RankingScores s;
  double pair_sum = 0, top1_sum = 0, top5_sum = 0;
  int64_t pair_groups = 0;
  for (const auto& [g, idx] : groups) {
    double best = 0;
    for (size_t i : idx) best = std::max(best, rows[i].gflops);
    if (best <= 0) continue;  // nothing valid to rank against
    ++s.groups;
    int64_t right = 0, pairs = 0;
    for (size_t a = 0; a < idx.size(); ++a)
      for (size_t b = a + 1; b < idx.size(); ++b) {
        const double ga = rows[idx[a]].gflops, gb = rows[idx[b]].gflops;
        if (ga == gb) continue;
        ++pairs;
        const double sa = scores[idx[a]], sb = scores[idx[b]];
        right += (ga > gb) == (sa > sb) && sa != sb;
      }
    if (pairs > 0) {
      pair_sum += static_cast<double>(right) / static_cast<double>(pairs);
      ++pair_groups;
    }
    std::vector<size_t> order = idx;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    double pick1 = rows[order[0]].gflops, pick5 = 0;
    for (size_t k = 0; k < order.size() && k < 5; ++k) pick5 = std::max(pick5, rows[order[k]].gflops);
    top1_sum += pick1 / best;
    top5_sum += pick5 / best;
  }
  if (pair_groups) s.pairwise_accuracy = pair_sum / static_cast<double>(pair_groups);
  if (s.groups) {
    s.top1 = top1_sum / static_cast<double>(s.groups);
    s.top5 = top5_sum / static_cast<double>(s.groups);
  }
  double mean = 0;
  for (const auto& r : rows) mean += r.label;
  mean /= std::max<size_t>(1, rows.size());
  double ss_res = 0, ss_tot = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    ss_res += (rows[i].label - scores[i]) * (rows[i].label - scores[i]);
    ss_tot += (rows[i].label - mean) * (rows[i].label - mean);
  }
  s.r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : 0;
  return s;
}

}  // namespace opal
