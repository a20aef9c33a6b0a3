// Store benchmark: one store per backend grows through 10^4, 10^5, ... records; at each size it
// reports, for SQLite and PostgreSQL side by side:
//   insert   records/s while the store grew to this size (--batch records per Put, default
//            RecordStore::kImportBatch, the way `opal db import` writes)
//   put 1k   records/s of the last 5,000 records, written in Puts of 1,000 (a tuning worker's
//            batch is smaller still: this is the per-transaction cost at this size)
//   top-10   p50 and p99 latency of TopK(k=10) on the exact target, on a store opened for the
//            lookups: the first lookup of each workload (as `opal build` does, one per workload),
//            then each again ("again": the session has seen the workload); and with the coarse
//            fallback (the rest from the 3 other targets of the coarse key)
//   scan     records/s of the cost model's training-data scan (valid records of one target)
//   size     bytes on disk per record (SQLite: file + WAL; PostgreSQL: pg_database_size)
// Run through bench/store/run.sh, which starts a PostgreSQL server with its durable defaults and
// passes its DSN in OPAL_BENCH_PG_DSN.
//   store_bench [--max N] [--backends sqlite,postgresql] [--queries Q] [--batch B] [--keep DIR] [--json FILE]
//
// Data: 1,000 workloads x 4 targets of one coarse key, 2 framework versions (1 in 3 trials of the
// older one), 1 in 8 trials failed -- the shape of a store filled by tuning many models.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/record_store.h"
#include "store/store_test_util.h"

namespace {

using Clock = std::chrono::steady_clock;
using opal::RecordStore;
using opal::store::testing::MakeRecord;

constexpr int kWorkloads = 1000;
constexpr int kSmallBatch = 1000, kSmallBatches = 5;
const char* kTargets[] = {"cpu-x86_64-avx2-aaaa", "cpu-x86_64-avx2-bbbb", "cpu-x86_64-avx2-cccc",
                          "cpu-x86_64-avx2-dddd"};

std::vector<opal::Record> MakeBatch(int64_t first, int n) {
  std::vector<opal::Record> out;
  out.reserve(static_cast<size_t>(n));
  std::mt19937_64 rng(static_cast<uint64_t>(first) * 7919 + 1);
  std::uniform_real_distribution<double> ms(0.05, 20.0);
  for (int i = 0; i < n; ++i) {
    const int64_t id = first + i;
    const std::string target = kTargets[id % 4];
    out.push_back(MakeRecord({.workload = static_cast<int>((id / 4) % kWorkloads),
                              .target = target,
                              .coarse = "cpu-x86_64-avx2",
                              .version = id % 3 == 0 ? "0.9" : "1.0",
                              .config = "{\"tile_m\":" + std::to_string(id % 97) + ",\"id\":" + std::to_string(id) + "}",
                              .median = ms(rng) * 1e-3,
                              .status = id % 8 == 5 ? opal::TrialStatus::kCrash : opal::TrialStatus::kOk,
                              .timestamp_us = 1700000000000000 + id}));
  }
  return out;
}

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds of this process (for SQLite, the whole cost of a Put; the machine may be shared).
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct Row {
  int64_t n = 0;
  double insert_per_s = 0, insert_cpu_per_s = 0, put1k_per_s = 0, topk_p50_us = 0, topk_p99_us = 0, again_p50_us = 0, again_p99_us = 0, coarse_p50_us = 0, coarse_p99_us = 0;
  double scan_per_s = 0, bytes_per_record = 0, ping_p50_us = 0;
};

// Latencies (us) of `queries` TopK calls on a store opened for them: the workloads in a random
// order, each once in the first kWorkloads calls (a fresh process's first lookup of a workload,
// as `opal build` does), then again (a session that has seen the workload before).
opal::Result<std::vector<double>> TimeTopK(const std::string& dsn, int queries, bool coarse) {
  OPAL_ASSIGN_OR_RETURN(auto s, RecordStore::Open(dsn));
  std::mt19937 rng(coarse ? 2 : 1);
  std::vector<int> order(kWorkloads);
  for (int i = 0; i < kWorkloads; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<double> us;
  for (int i = 0; i < queries; ++i) {
    opal::TopKQuery q{.workload_key = "conv2d-w" + std::to_string(order[static_cast<size_t>(i % kWorkloads)]),
                      .target_key = kTargets[0],
                      .target_coarse_key = "cpu-x86_64-avx2",
                      .framework = "halide",
                      .framework_version = "1.0",
                      .k = 10,
                      .coarse_fallback = coarse};
    if (coarse) q.target_key = "cpu-x86_64-avx2-none";  // an unmeasured machine of the family
    const auto t0 = Clock::now();
    auto top = s->TopK(q);
    us.push_back(Seconds(t0) * 1e6);
    if (!top.ok()) return top.status();
  }
  return us;
}

// Records/s of a scan of one target's valid records (stopped after `limit`).
opal::Result<double> TimeScan(RecordStore& s, int64_t limit) {
  int64_t seen = 0;
  const auto t0 = Clock::now();
  OPAL_RETURN_IF_ERROR(s.Scan({.target_key = kTargets[1], .ok_only = true}, [&](const opal::Record&) {
    return ++seen < limit;
  }));
  return static_cast<double>(seen) / Seconds(t0);
}

opal::Result<double> StoreBytes(const std::string& dsn, RecordStore&) {
  if (dsn.rfind("sqlite:", 0) == 0) {
    double bytes = 0;
    for (const char* suffix : {"", "-wal"}) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(dsn.substr(7) + suffix, ec);
      if (!ec) bytes += static_cast<double>(size);
    }
    return bytes;
  }
  return opal::store::testing::DatabaseBytes(dsn);
}

opal::Result<std::vector<Row>> Run(const std::string& backend, int64_t max_n, int queries, int64_t big_batch,
                                   const std::string& keep) {
  const std::string tag = "opal_bench_" + std::to_string(getpid());
  std::string dsn;
  if (backend == "sqlite") {
    const auto dir = keep.empty() ? std::filesystem::temp_directory_path() / tag : std::filesystem::path(keep);
    std::filesystem::create_directories(dir);
    std::filesystem::remove(dir / "records.db");
    dsn = "sqlite:" + (dir / "records.db").string();
  } else {
    const char* server = std::getenv("OPAL_BENCH_PG_DSN");
    if (!server) return opal::Error(opal::ErrorCode::kUnavailable, "OPAL_BENCH_PG_DSN is not set (use bench/store/run.sh)");
    OPAL_ASSIGN_OR_RETURN(dsn, opal::store::testing::NewPostgresDatabase(server, tag));
  }
  OPAL_ASSIGN_OR_RETURN(auto store, RecordStore::Open(dsn));
  std::vector<Row> rows;
  int64_t have = 0;
  for (int64_t n = 10000; n <= max_n; n *= 10) {
    Row row{.n = n};
    double put_s = 0, put_cpu_s = 0, small_s = 0;
    const int64_t from = have, small_from = n - kSmallBatch * kSmallBatches;
    while (have < n) {
      const bool small = have >= small_from;
      const int64_t size = std::min(small ? int64_t{kSmallBatch} : big_batch, (small ? n : small_from) - have);
      auto batch = MakeBatch(have, static_cast<int>(size));
      const auto t0 = Clock::now();
      const double c0 = CpuSeconds();
      OPAL_ASSIGN_OR_RETURN(int64_t added, store->Put(batch));
      (small ? small_s : put_s) += Seconds(t0);
      if (!small) put_cpu_s += CpuSeconds() - c0;
      if (added != size) return opal::Error(opal::ErrorCode::kInternal, "lost records");
      have += size;
    }
    row.insert_per_s = static_cast<double>(small_from - from) / put_s;
    row.insert_cpu_per_s = static_cast<double>(small_from - from) / put_cpu_s;
    row.put1k_per_s = kSmallBatch * kSmallBatches / small_s;
    OPAL_ASSIGN_OR_RETURN(auto exact, TimeTopK(dsn, queries, false));
    OPAL_ASSIGN_OR_RETURN(auto coarse, TimeTopK(dsn, queries, true));
    const auto first = exact.begin() + std::min<ptrdiff_t>(kWorkloads, std::ssize(exact));
    row.topk_p50_us = Percentile({exact.begin(), first}, 0.5);
    row.topk_p99_us = Percentile({exact.begin(), first}, 0.99);
    row.again_p50_us = Percentile({first, exact.end()}, 0.5);
    row.again_p99_us = Percentile({first, exact.end()}, 0.99);
    row.coarse_p50_us = Percentile(coarse, 0.5);
    row.coarse_p99_us = Percentile(coarse, 0.99);
    OPAL_ASSIGN_OR_RETURN(row.scan_per_s, TimeScan(*store, 200000));
    OPAL_ASSIGN_OR_RETURN(auto ping, opal::store::testing::RoundTripMicros(dsn, queries));
    row.ping_p50_us = Percentile(ping, 0.5);
    OPAL_ASSIGN_OR_RETURN(double bytes, StoreBytes(dsn, *store));
    row.bytes_per_record = bytes / static_cast<double>(n);
    std::fprintf(stderr, "%-10s %9lld records: insert %7.0f/s (%7.0f/s of this process's CPU), put 1k %7.0f/s, top-10 p50 %6.1f us p99 %7.1f us (seen before: p50 %6.1f us p99 %7.1f us), coarse p50 %6.1f us "
                 "p99 %7.1f us, scan %8.0f/s, %5.0f B/record, SELECT 1 p50 %.1f us\n",
                 backend.c_str(), static_cast<long long>(n), row.insert_per_s, row.insert_cpu_per_s, row.put1k_per_s, row.topk_p50_us, row.topk_p99_us,
                 row.again_p50_us, row.again_p99_us, row.coarse_p50_us, row.coarse_p99_us, row.scan_per_s, row.bytes_per_record, row.ping_p50_us);
    rows.push_back(row);
  }
  if (keep.empty() && backend == "sqlite") std::filesystem::remove_all(std::filesystem::path(dsn.substr(7)).parent_path());
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t max_n = 1000000;
  int queries = 2000;
  int64_t batch = RecordStore::kImportBatch;
  std::string backends = "sqlite,postgresql", keep, json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--max") max_n = std::stoll(value);
    else if (flag == "--queries") queries = std::stoi(value);
    else if (flag == "--batch") batch = std::max<int64_t>(1, std::stoll(value));
    else if (flag == "--backends") backends = value;
    else if (flag == "--keep") keep = value;
    else if (flag == "--json") json_path = value;
    else {
      std::fprintf(stderr, "usage: store_bench [--max N] [--backends sqlite,postgresql] [--queries Q] [--batch B] [--keep DIR] "
                   "[--json FILE]\n");
      return 2;
    }
  }
  std::map<std::string, std::vector<Row>> results;
  std::stringstream list(backends);
  for (std::string b; std::getline(list, b, ',');) {
    auto rows = Run(b, max_n, queries, batch, keep);
    if (!rows.ok()) {
      std::fprintf(stderr, "store_bench: %s: %s\n", b.c_str(), rows.status().message().c_str());
      return 1;
    }
    results[b] = *rows;
  }
  std::printf("%10s  %-10s %10s %9s %9s %9s %9s %9s %9s %9s %10s %9s %9s\n", "records", "backend", "insert/s", "put1k/s", "top10 p50",
              "top10 p99", "again p50", "again p99", "coarse50", "coarse99", "scan/s", "B/record", "SELECT 1");
  opal::Json out = {{"format", "opal.store_bench/1"}, {"rows", opal::Json::array()}};
  for (int64_t n = 10000; n <= max_n; n *= 10) {
    for (const auto& [backend, rows] : results) {
      for (const Row& r : rows) {
        if (r.n != n) continue;
        std::printf("%10lld  %-10s %10.0f %9.0f %7.1fus %7.1fus %7.1fus %7.1fus %7.1fus %7.1fus %10.0f %9.0f %7.1fus\n",
                    static_cast<long long>(n), backend.c_str(), r.insert_per_s, r.put1k_per_s, r.topk_p50_us, r.topk_p99_us,
                    r.again_p50_us, r.again_p99_us, r.coarse_p50_us, r.coarse_p99_us, r.scan_per_s, r.bytes_per_record, r.ping_p50_us);
        out["rows"].push_back({{"records", n}, {"backend", backend}, {"insert_per_s", r.insert_per_s},
                               {"insert_per_client_cpu_s", r.insert_cpu_per_s}, {"put1k_per_s", r.put1k_per_s},
                               {"topk10_p50_us", r.topk_p50_us}, {"topk10_p99_us", r.topk_p99_us},
                               {"topk10_seen_p50_us", r.again_p50_us}, {"topk10_seen_p99_us", r.again_p99_us},
                               {"coarse_p50_us", r.coarse_p50_us}, {"coarse_p99_us", r.coarse_p99_us},
                               {"scan_per_s", r.scan_per_s}, {"bytes_per_record", r.bytes_per_record},
                               {"select1_p50_us", r.ping_p50_us}});
      }
    }
  }
  if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << "\n";
  return 0;
}
