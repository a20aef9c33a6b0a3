#include "store/store_test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "store/best_rows.h"
#include "store/sql_session.h"

namespace opal::store::testing {

Record MakeRecord(const RecordSpec& s) {
  Record r;
  r.workload_key = "conv2d-w" + std::to_string(s.workload);
  r.workload_json = R"({"op":"conv2d","n":)" + std::to_string(s.workload) + "}";
  r.op = "conv2d";
  r.target_key = s.target;
  r.target_coarse_key = s.coarse;
  r.target_string = "cpu arch=x86_64 key=" + s.target;
  r.framework = s.framework;
  r.framework_version = s.version;
  r.config_json = s.config;
  r.status = s.status;
  if (s.status == TrialStatus::kOk) {
    r.times_s = {s.median * 0.9, s.median, s.median * 1.3};
  } else {
    r.error = "failed: " + std::string(TrialStatusName(s.status));
  }
  r.provenance = {"0.1.0", "gcc 12.2.0", "14.0.0", "14.0.6", "testhost", "worker-1"};
  r.timestamp_us = s.timestamp_us;
  r.Finalize(/*flops=*/2e9);
  return r;
}

std::string PgFixtureDir() {
  if (const char* d = std::getenv("OPAL_TEST_PG_DIR"); d && *d) return d;
  return std::string(OPAL_BINARY_DIR) + "/pg-test";
}

std::string PgServerDsn() {
  std::ifstream in(PgFixtureDir() + "/dsn");
  std::string dsn;
  std::getline(in, dsn);
  return dsn;
}

Result<std::string> FreshDsn(const std::string& kind) {
  static std::atomic<int> counter{0};
  const std::string unique = std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
                             std::to_string(std::random_device{}() % 100000);
  if (kind == "memory") return std::string("memory:");
  if (kind == "sqlite") {
    auto dir = std::filesystem::temp_directory_path() / ("opal_store_test_" + unique);
    std::filesystem::create_directories(dir);
    return "sqlite:" + (dir / "records.db").string();
  }
  const std::string server = PgServerDsn();
  if (server.empty()) {
    return Error(ErrorCode::kUnavailable,
                 "no test PostgreSQL server: run the tests through ctest (it starts one) or "
                 "scripts/pg-test-server.sh start {}",
                 PgFixtureDir());
  }
  return NewPostgresDatabase(server, "opal_test_" + unique);
}

Result<std::unique_ptr<RecordStore>> FreshStore(const std::string& kind) {
  OPAL_ASSIGN_OR_RETURN(std::string dsn, FreshDsn(kind));
  return RecordStore::Open(dsn);
}

Result<std::string> NewPostgresDatabase(const std::string& server_dsn, const std::string& name) {
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_') ||
        std::isupper(static_cast<unsigned char>(c)))
      return Error(ErrorCode::kInvalidArgument,
                   "database name '{}': use lower-case letters, digits and '_'", name);
  OPAL_ASSIGN_OR_RETURN(auto conn, ConnectPostgres(server_dsn));
  OPAL_RETURN_IF_ERROR(conn->ExecScript("CREATE DATABASE " + name));  // an identifier checked above
  return server_dsn.substr(0, server_dsn.rfind('/') + 1) + name;
}

Result<std::vector<double>> RoundTripMicros(const std::string& dsn, int n) {
  OPAL_ASSIGN_OR_RETURN(auto db, OpenSqlSession(dsn));
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    OPAL_RETURN_IF_ERROR(db->Query("SELECT 1", {}, [](const SqlRowView&) { return true; }));
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return us;
}

Status CheckBestRows(const std::string& dsn) {
  OPAL_ASSIGN_OR_RETURN(auto db, OpenSqlSession(dsn));
  // A record as the body's fields, doubles as their bits; groups by "w t framework major".
  using Fields = std::vector<std::string>;
  auto bits = [](double v) { return std::to_string(std::bit_cast<uint64_t>(v)); };
  auto sort = [](std::vector<Fields>& rs) {
    std::sort(rs.begin(), rs.end(), [](const Fields& a, const Fields& b) {
      const double ma = std::bit_cast<double>(std::stoull(a[kBestMedian]));
      const double mb = std::bit_cast<double>(std::stoull(b[kBestMedian]));
      return ma != mb ? ma < mb : a[kBestUid] < b[kBestUid];
    });
  };
  std::map<std::string, std::vector<Fields>> want, got;
  auto group = [](const SqlRowView& r) {
    return r.Text(0) + " " + r.Text(1) + " " + r.Text(2) + " " + r.Text(3);
  };
  OPAL_RETURN_IF_ERROR(db->Query(
      "SELECT workload_id, target_id, framework, framework_major, uid, framework_version, config, "
      "error, times, median_s, gflops, opal_version, compiler, halide_version, llvm_version, host, "
      "worker_id, timestamp_us FROM records WHERE status = 'ok'",
      {}, [&](const SqlRowView& r) {
        Fields f;
        for (int c = 4; c < 18; ++c)
          f.push_back(c == 9 || c == 10 ? bits(r.Real(c))
                      : c == 17         ? std::to_string(r.Int(c))
                                        : r.Text(c));
        want[group(r)].push_back(std::move(f));
        return true;
      }));
  Status bad = Status::Ok();
  OPAL_RETURN_IF_ERROR(
      db->Query("SELECT workload_id, target_id, framework, framework_major, body FROM best_rows",
                {}, [&](const SqlRowView& r) {
                  std::vector<BestRowFields> decoded;
                  const std::string body = r.Text(4);
                  bad = DecodeBestRow(body, decoded);
                  for (const BestRowFields& d : decoded) {
                    Fields f(d.begin(), d.end());
                    for (int c : {kBestMedian, kBestGflops}) {
                      double v = 0;
                      std::from_chars(d[c].data(), d[c].data() + d[c].size(), v);
                      f[c] = bits(v);
                    }
                    got[group(r)].push_back(std::move(f));
                  }
                  return bad.ok();
                }));
  OPAL_RETURN_IF_ERROR(bad);
  for (auto& [g, rs] : want) {
    sort(rs);
    if (rs.size() > static_cast<size_t>(kBestInRow)) rs.resize(kBestInRow);
  }
  for (auto& [g, rs] : got) sort(rs);
  for (const auto& [g, rs] : want) {
    if (!got.contains(g)) return Error(ErrorCode::kFailed, "best_rows: group {} has no row", g);
    if (got[g] != rs)
      return Error(ErrorCode::kFailed, "best_rows: group {} holds {} records, not its {} best", g,
                   got[g].size(), rs.size());
  }
  for (const auto& [g, rs] : got)
    if (!want.contains(g))
      return Error(ErrorCode::kFailed, "best_rows: group {} has no valid record", g);
  return Status::Ok();
}

Result<double> DatabaseBytes(const std::string& dsn) {
  OPAL_ASSIGN_OR_RETURN(auto conn, ConnectPostgres(dsn));
  double bytes = 0;
  OPAL_RETURN_IF_ERROR(
      conn->Query("SELECT pg_database_size(current_database())", {}, [&](const SqlRowView& r) {
        bytes = r.Real(0);
        return false;
      }));
  return bytes;
}

std::vector<int> RunInProcesses(int n, const std::function<int(int)>& body) {
  std::vector<pid_t> kids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = fork();
    if (pid == 0) _exit(body(i));
    kids.push_back(pid);  // -1 (fork failed) is reported as a failed process below
  }
  std::vector<int> codes;
  for (pid_t pid : kids) {
    int status = 0;
    const bool exited = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status);
    codes.push_back(exited ? WEXITSTATUS(status) : -1);
  }
  return codes;
}

}  // namespace opal::store::testing
