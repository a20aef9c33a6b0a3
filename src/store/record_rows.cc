#include "store/record_rows.h"

#include <cstdlib>

#include "opal/json.h"
#include "store/store_util.h"

namespace opal::store {

const char* const kRecordColumns =
    "r.uid, w.key, w.json, w.op, t.key, t.coarse_key, t.canonical, r.framework, "
    "r.framework_version, "
    "r.config, r.status, r.error, r.times, r.median_s, r.gflops, r.opal_version, r.compiler, "
    "r.halide_version, r.llvm_version, r.host, r.worker_id, r.timestamp_us";

const char* const kRecordFrom =
    " FROM records r JOIN workloads w ON w.id = r.workload_id JOIN targets t ON t.id = "
    "r.target_id ";

const char* const kRecordInsertColumns =
    "workload_id, target_id, uid, framework, framework_version, framework_major, config, status, "
    "error, "
    "times, median_s, gflops, opal_version, compiler, halide_version, llvm_version, host, "
    "worker_id, "
    "timestamp_us";

std::string TimesToText(const std::vector<double>& times) {
  Json a = Json::array();
  for (double t : times) a.push_back(t);
  return CanonicalJson(a);
}

namespace {

// The end of the JSON number at p (-?int(.digits)?([eE][+-]?digits)?), or nullptr.
const char* JsonNumberEnd(const char* p) {
  auto digits = [](const char* q) {
    while (*q >= '0' && *q <= '9') ++q;
    return q;
  };
  if (*p == '-') ++p;
  if (*p == '0') ++p;
  else if (*p >= '1' && *p <= '9') p = digits(p);
  else return nullptr;
  if (*p == '.') {
    const char* q = digits(p + 1);
    if (q == p + 1) return nullptr;
    p = q;
  }
  if (*p == 'e' || *p == 'E') {
    ++p;
    if (*p == '+' || *p == '-') ++p;
    const char* q = digits(p);
    if (q == p) return nullptr;
    p = q;
  }
  return p;
}

}  // namespace

Result<std::vector<double>> TimesFromText(const std::string& text) {
  // The exact shape TimesToText writes -- "[n,n,...]" with shortest round-trip numbers -- read
  // with strtod (exact), without building a JSON tree: it runs for every record read.
  auto bad = [&] { return Error(ErrorCode::kInvalidArgument, "stored times are not a JSON array of numbers: {}", text); };
  std::vector<double> out;
  const char* p = text.c_str();
  if (*p++ != '[') return bad();
  if (*p == ']') return p[1] == '\0' ? Result<std::vector<double>>(out) : bad();
  while (true) {
    const char* number_end = JsonNumberEnd(p);  // strtod alone would take inf, nan and hex
    char* end = nullptr;
    const double v = number_end ? std::strtod(p, &end) : 0;
    if (!number_end || end != number_end) return bad();
    out.push_back(v);
    p = end;
    if (*p == ']') return p[1] == '\0' ? Result<std::vector<double>>(out) : bad();
    if (*p++ != ',') return bad();
  }
}

Result<Record> RowToRecord(const SqlRowView& row) {
  Record r;
  r.uid = row.Text(0);
  r.workload_key = row.Text(1);
  r.workload_json = row.Text(2);
  r.op = row.Text(3);
  r.target_key = row.Text(4);
  r.target_coarse_key = row.Text(5);
  r.target_string = row.Text(6);
  r.framework = row.Text(7);
  r.framework_version = row.Text(8);
  r.config_json = row.Text(9);
  OPAL_ASSIGN_OR_RETURN(r.status, ParseTrialStatus(row.Text(10)));
  r.error = row.Text(11);
  OPAL_ASSIGN_OR_RETURN(r.times_s, TimesFromText(row.Text(12)));
  r.median_s = row.Real(13);
  r.gflops = row.Real(14);
  r.provenance.opal_version = row.Text(15);
  r.provenance.compiler = row.Text(16);
  r.provenance.halide_version = row.Text(17);
  r.provenance.llvm_version = row.Text(18);
  r.provenance.host = row.Text(19);
  r.provenance.worker_id = row.Text(20);
  r.timestamp_us = row.Int(21);
  return r;
}

void AppendRecordParams(const Record& r, int64_t workload_id, int64_t target_id, SqlParams& out) {
  out.insert(out.end(), {workload_id, target_id, r.uid, r.framework, r.framework_version,
                         MajorVersion(r.framework_version), r.config_json,
                         std::string(TrialStatusName(r.status)), r.error, TimesToText(r.times_s),
                         r.median_s, r.gflops, r.provenance.opal_version, r.provenance.compiler,
                         r.provenance.halide_version, r.provenance.llvm_version, r.provenance.host,
                         r.provenance.worker_id, r.timestamp_us});
}

Status CheckFinalized(const Record& r) {
  if (r.uid.empty() || r.uid != r.ComputeUid()) {
    return Error(ErrorCode::kInternal, "record for {} was not finalized (uid missing or stale)",
                 r.workload_key);
  }
  if (r.workload_key.empty() || r.target_key.empty() || r.framework.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "record {} lacks a workload key, target key or framework", r.uid.substr(0, 16));
  }
  return Status::Ok();
}

}  // namespace opal::store
