#include "store/store_test_util.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>

#include "store/pg_conn.h"

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
  OPAL_ASSIGN_OR_RETURN(auto conn, PgConn::Connect(server));
  const std::string db = "opal_test_" + unique;
  OPAL_RETURN_IF_ERROR(conn->Exec("CREATE DATABASE " + db).status());  // identifier from digits only
  return server.substr(0, server.rfind('/') + 1) + db;
}

}  // namespace opal::store::testing
