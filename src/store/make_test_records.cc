// Writes N synthetic but well-formed records as JSON lines (opal.record/1) to stdout, for the
// end-to-end test of `opal db` (tools/opal/db_cli_test.sh). Usage: make_test_records N [SEED]
#include <cstdio>
#include <cstdlib>
#include <random>

#include "store/store_test_util.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_test_records N [SEED]\n");
    return 2;
  }
  const int n = std::atoi(argv[1]);
  std::mt19937_64 rng(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);
  std::uniform_real_distribution<double> ms(0.1, 10.0);
  for (int i = 0; i < n; ++i) {
    opal::store::testing::RecordSpec s;
    s.workload = i % 13;
    s.version = i % 5 == 0 ? "0.9" : "1.0";
    s.config = "{\"i\":" + std::to_string(i) + ",\"note\":\"caf\xc3\xa9 'x'; --\"}";
    s.median = ms(rng) * 1e-3;
    s.status = i % 7 == 3 ? opal::TrialStatus::kTimeout : opal::TrialStatus::kOk;
    s.timestamp_us += i;
    std::printf("%s\n", opal::CanonicalJson(opal::store::testing::MakeRecord(s).ToJson()).c_str());
  }
  return 0;
}
