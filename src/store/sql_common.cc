#include "store/sql_common.h"

#include "opal/json.h"
#include "store/store_util.h"

namespace opal::store {

const char* const kRecordColumns =
    "r.uid, w.key, w.json, w.op, t.key, t.coarse_key, t.canonical, r.framework, r.framework_version, "
    "r.config, r.status, r.error, r.times, r.median_s, r.gflops, r.opal_version, r.compiler, "
    "r.halide_version, r.llvm_version, r.host, r.worker_id, r.timestamp_us";

const char* const kRecordFrom =
    " FROM records r JOIN workloads w ON w.id = r.workload_id JOIN targets t ON t.id = r.target_id ";

const char* const kRecordInsertColumns =
    "workload_id, target_id, uid, framework, framework_version, framework_major, config, status, error, "
    "times, median_s, gflops, opal_version, compiler, halide_version, llvm_version, host, worker_id, "
    "timestamp_us";

std::string TimesToText(const std::vector<double>& times) {
  Json a = Json::array();
  for (double t : times) a.push_back(t);
  return CanonicalJson(a);
}

Result<std::vector<double>> TimesFromText(const std::string& text) {
  Json a = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!a.is_array()) return Error(ErrorCode::kInvalidArgument, "stored times are not a JSON array: {}", text);
  std::vector<double> out;
  for (const auto& t : a) {
    if (!t.is_number()) return Error(ErrorCode::kInvalidArgument, "stored times hold a non-number: {}", text);
    out.push_back(t.get<double>());
  }
  return out;
}

Result<Record> RowToRecord(const RowReader& row) {
  Record r;
  r.uid = row.text(0);
  r.workload_key = row.text(1);
  r.workload_json = row.text(2);
  r.op = row.text(3);
  r.target_key = row.text(4);
  r.target_coarse_key = row.text(5);
  r.target_string = row.text(6);
  r.framework = row.text(7);
  r.framework_version = row.text(8);
  r.config_json = row.text(9);
  OPAL_ASSIGN_OR_RETURN(r.status, ParseTrialStatus(row.text(10)));
  r.error = row.text(11);
  OPAL_ASSIGN_OR_RETURN(r.times_s, TimesFromText(row.text(12)));
  r.median_s = row.real(13);
  r.gflops = row.real(14);
  r.provenance.opal_version = row.text(15);
  r.provenance.compiler = row.text(16);
  r.provenance.halide_version = row.text(17);
  r.provenance.llvm_version = row.text(18);
  r.provenance.host = row.text(19);
  r.provenance.worker_id = row.text(20);
  r.timestamp_us = row.integer(21);
  return r;
}

void WriteRecordParams(const Record& r, const ParamWriter& w) {
  w.text(3, r.uid);
  w.text(4, r.framework);
  w.text(5, r.framework_version);
  w.text(6, MajorVersion(r.framework_version));
  w.text(7, r.config_json);
  w.text(8, std::string(TrialStatusName(r.status)));
  w.text(9, r.error);
  w.text(10, TimesToText(r.times_s));
  w.real(11, r.median_s);
  w.real(12, r.gflops);
  w.text(13, r.provenance.opal_version);
  w.text(14, r.provenance.compiler);
  w.text(15, r.provenance.halide_version);
  w.text(16, r.provenance.llvm_version);
  w.text(17, r.provenance.host);
  w.text(18, r.provenance.worker_id);
  w.integer(19, r.timestamp_us);
}

Status CheckFinalized(const Record& r) {
  if (r.uid.empty() || r.uid != r.ComputeUid()) {
    return Error(ErrorCode::kInternal, "record for {} was not finalized (uid missing or stale)", r.workload_key);
  }
  if (r.workload_key.empty() || r.target_key.empty() || r.framework.empty()) {
    return Error(ErrorCode::kInvalidArgument, "record {} lacks a workload key, target key or framework",
                 r.uid.substr(0, 16));
  }
  return Status::Ok();
}

}  // namespace opal::store
