// A Record is one measured trial: one config of one tuning framework, for one workload on one
// target. Every trial is a record, failed ones included (with their error): they are the cost
// model's training data. Records are plain data; nothing in them is ever executed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "opal/json.h"
#include "opal/status.h"

namespace opal {

// Outcome of a trial. Only kOk records have meaningful times.
enum class TrialStatus {
  kOk,            // built, ran, matched the reference; times are valid
  kBuildError,    // the schedule did not compile
  kRuntimeError,  // the kernel returned an error
  kCrash,         // the measuring process died from a signal
  kTimeout,       // compile or run exceeded its time limit
  kMismatch,      // output differs from the reference kernel
};
std::string_view TrialStatusName(TrialStatus s);          // "ok", "build_error", ...
Result<TrialStatus> ParseTrialStatus(std::string_view name);

// Where and with what a trial was produced.
struct Provenance {
  std::string opal_version;
  std::string compiler;        // e.g. "gcc 12.2.0"
  std::string halide_version;  // empty when the framework does not use Halide
  std::string llvm_version;
  std::string host;            // hostname of the measuring machine
  std::string worker_id;       // "" for interactive runs
};

struct Record {
  // Workload: key (Workload::Key()), canonical JSON and op kind.
  std::string workload_key;
  std::string workload_json;
  std::string op;
  // Target: exact key, coarse (fallback) key and canonical string (Target::*).
  std::string target_key;
  std::string target_coarse_key;
  std::string target_string;
  // Tuning framework, e.g. "halide" + "1" (bumped when its space or codegen changes meaning).
  std::string framework;
  std::string framework_version;
  // The config: canonical JSON of one point of the framework's schedule space.
  std::string config_json;
  TrialStatus status = TrialStatus::kOk;
  std::string error;            // reason for a failed trial; "" when kOk
  std::vector<double> times_s;  // every timed repeat, seconds, in run order
  double median_s = 0;          // median of times_s (0 for failed trials)
  double gflops = 0;            // workload FLOPs / median / 1e9 (0 for failed trials)
  Provenance provenance;
  int64_t timestamp_us = 0;  // measurement time, microseconds since the Unix epoch (UTC)
  // Stable identity: SHA-256 (hex) of every field above. Set by Finalize(); two stores holding
  // the same record hold the same uid, which is what makes import idempotent.
  std::string uid;

  // Fills median_s and gflops from times_s and `flops` (when kOk) and computes uid.
  void Finalize(double flops);
  // The uid the record's fields imply (without storing it).
  std::string ComputeUid() const;

  // One JSON object per record: the JSON-lines interchange format ("opal.record/1"). Doubles
  // are written in their shortest round-trip form, so export -> import is bit-exact.
  Json ToJson() const;
  // Validates field presence and types; the uid must match the content (kInvalidArgument
  // otherwise, naming the field).
  static Result<Record> FromJson(const Json& j);
};

// Current time in microseconds since the Unix epoch.
int64_t NowMicros();

// The major component of a framework version ("1.4.2" -> "1", "2" -> "2", "" -> ""): records
// of the same framework and major version are read as compatible (RecordStore::TopK).
inline std::string FrameworkMajorVersion(std::string_view v) { return std::string(v.substr(0, v.find('.'))); }

}  // namespace opal
