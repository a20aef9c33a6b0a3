// Store benchmark (Google Benchmark): insert rate and top-k lookup latency of the SQLite and
// PostgreSQL backends at 10^4, 10^5 and 10^6 records. Run through bench/store/run.sh, which starts
// a throwaway PostgreSQL server and passes its DSN in OPAL_BENCH_PG_DSN.
//
// Data: 1,000 workloads x 4 targets (2 sharing a coarse key), 2 framework versions, 1 in 8 trials
// failed -- the shape of a store filled by tuning many models. Inserts go in batches of 1,000
// records per transaction (the way tuning workers and `opal db import` write).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>

#include "opal/record_store.h"
#include "store/store_test_util.h"

namespace {

using opal::RecordStore;
using opal::store::testing::MakeRecord;

constexpr int kWorkloads = 1000;
const char* kTargets[] = {"cpu-x86_64-avx2-aaaa", "cpu-x86_64-avx2-bbbb", "cpu-x86_64-avx512-cccc",
                          "gpu-sm90-dddd"};

std::vector<opal::Record> MakeBatch(int64_t first, int n) {
  std::vector<opal::Record> out;
  out.reserve(n);
  std::mt19937_64 rng(static_cast<uint64_t>(first));
  std::uniform_real_distribution<double> ms(0.05, 20.0);
  for (int i = 0; i < n; ++i) {
    const int64_t id = first + i;
    const int t = static_cast<int>(id % 4);
    std::string target = kTargets[t];
    out.push_back(MakeRecord({.workload = static_cast<int>((id / 4) % kWorkloads),
                              .target = target,
                              .coarse = target.substr(0, target.rfind('-')),
                              .version = id % 3 == 0 ? "0.9" : "1.0",
                              .config = "{\"tile_m\":" + std::to_string(id % 97) + ",\"id\":" + std::to_string(id) + "}",
                              .median = ms(rng) * 1e-3,
                              .status = id % 8 == 5 ? opal::TrialStatus::kCrash : opal::TrialStatus::kOk,
                              .timestamp_us = 1700000000000000 + id}));
  }
  return out;
}

struct Filled {
  std::string dsn;
  int64_t records = 0;
};
std::map<std::string, Filled> g_filled;  // "backend/N" -> store filled by BM_Insert

std::string FreshDsn(const std::string& backend, int64_t n) {
  const std::string tag = "opal_bench_" + std::to_string(n) + "_" + std::to_string(getpid());
  if (backend == "sqlite") {
    auto dir = std::filesystem::temp_directory_path() / tag;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return "sqlite:" + (dir / "records.db").string();
  }
  const char* server = std::getenv("OPAL_BENCH_PG_DSN");
  if (!server) return "";
  auto db = opal::store::testing::NewPostgresDatabase(server, tag);  // a database of its own
  return db.ok() ? *db : "";
}

void BM_Insert(benchmark::State& state, std::string backend) {
  const int64_t n = state.range(0);
  for (auto _ : state) {
    const std::string dsn = FreshDsn(backend, n);
    auto store = dsn.empty() ? opal::Result<std::unique_ptr<RecordStore>>(
                                   opal::Error(opal::ErrorCode::kUnavailable, "OPAL_BENCH_PG_DSN not set"))
                             : RecordStore::Open(dsn);
    if (!store.ok()) {
      state.SkipWithError(store.status().message().c_str());
      return;
    }
    double seconds = 0;
    for (int64_t first = 0; first < n; first += 1000) {
      auto batch = MakeBatch(first, static_cast<int>(std::min<int64_t>(1000, n - first)));
      auto t0 = std::chrono::steady_clock::now();
      auto added = (*store)->Put(batch);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!added.ok()) {
        state.SkipWithError(added.status().message().c_str());
        return;
      }
    }
    state.SetIterationTime(seconds);
    state.counters["records_per_s"] = benchmark::Counter(static_cast<double>(n) / seconds);
    g_filled[backend + "/" + std::to_string(n)] = {dsn, n};
  }
}

void BM_TopK(benchmark::State& state, std::string backend) {
  const int64_t n = state.range(0);
  auto it = g_filled.find(backend + "/" + std::to_string(n));
  if (it == g_filled.end()) {
    state.SkipWithError("the insert benchmark did not fill this store");
    return;
  }
  auto store = RecordStore::Open(it->second.dsn);
  if (!store.ok()) {
    state.SkipWithError(store.status().message().c_str());
    return;
  }
  std::mt19937 rng(1);
  int64_t found = 0;
  for (auto _ : state) {
    opal::TopKQuery q{.workload_key = "conv2d-w" + std::to_string(rng() % kWorkloads),
                      .target_key = kTargets[0],
                      .target_coarse_key = "cpu-x86_64-avx2",
                      .framework = "halide",
                      .framework_version = "1.0",
                      .k = 10,
                      .coarse_fallback = state.range(1) != 0};
    auto top = (*store)->TopK(q);
    if (!top.ok()) {
      state.SkipWithError(top.status().message().c_str());
      return;
    }
    found += static_cast<int64_t>(top->size());
  }
  state.counters["records_per_query"] = benchmark::Counter(static_cast<double>(found) / state.iterations());
}

void Register() {
  for (const std::string backend : {"sqlite", "postgresql"}) {
    for (int64_t n : {10000, 100000, 1000000}) {
      benchmark::RegisterBenchmark(("insert/" + backend).c_str(), BM_Insert, backend)
          ->Arg(n)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
      benchmark::RegisterBenchmark(("topk10/" + backend).c_str(), BM_TopK, backend)
          ->Args({n, 0})->Args({n, 1})->Unit(benchmark::kMicrosecond)->MinTime(0.5);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Register();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (const auto& [key, f] : g_filled)
    if (f.dsn.rfind("sqlite:", 0) == 0) std::filesystem::remove_all(std::filesystem::path(f.dsn.substr(7)).parent_path());
  return 0;
}
