// RecordStore: the database of tuning records, keyed by (workload, target). One interface, three
// backends chosen by a DSN:
//   sqlite:PATH            embedded default (one file; many processes may write it at once)
//   postgresql://USER@HOST:PORT/DB?...   shared by a team (libpq URI; also "postgres://")
//   memory:                in-process, for unit tests only
// Every method is a transaction of its own: it either happens entirely or not at all. Methods
// return errors as values (kUnavailable: server unreachable or busy past the retry budget;
// kInvalidArgument: bad DSN or query). Credentials in a DSN never appear in messages.
// A RecordStore object is not shared between threads; open one per thread or process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "opal/record.h"
#include "opal/status.h"

namespace opal {

// Which records a scan, count or query covers. Empty strings match everything.
struct RecordFilter {
  std::string workload_key;
  std::string target_key;         // exact target key
  std::string op;                 // workload op kind
  std::string framework;
  std::string framework_version;  // exact version
  bool ok_only = false;           // only TrialStatus::kOk
};

struct TopKQuery {
  std::string workload_key;
  std::string target_key;         // exact key
  std::string target_coarse_key;  // used when coarse_fallback is set
  std::string framework;          // "" = any framework
  // Compatibility: "" = any; otherwise records whose framework_version has the same major
  // component (text before the first '.') as this one.
  std::string framework_version;
  int k = 1;
  // When fewer than k valid records exist on the exact target, fill up from other targets with
  // the same coarse key (their target_key tells the caller where they came from).
  bool coarse_fallback = false;
};

// Per (target, op) figures for `opal db stats`.
struct StoreSummaryRow {
  std::string target_key;
  std::string op;
  int64_t records = 0;
  int64_t ok_records = 0;
  int64_t workloads = 0;
  double best_gflops = 0;
};

class RecordStore {
 public:
  // Opens (creating when absent) the store named by `dsn`, running schema migrations.
  // Errors: kInvalidArgument for an unknown scheme or malformed DSN, kUnavailable when the
  // server cannot be reached, kFailedPrecondition-like kFailed when the schema is newer than
  // this opal understands.
  static Result<std::unique_ptr<RecordStore>> Open(std::string_view dsn);
  // $OPAL_STORE when set, else "sqlite:" + $XDG_DATA_HOME/opal/records.db (~/.local/share/...).
  static std::string DefaultDsn();
  // The DSN with any password replaced by "***": safe for logs and messages.
  static std::string RedactDsn(std::string_view dsn);

  virtual ~RecordStore() = default;

  // The redacted DSN this store was opened with.
  virtual std::string Describe() const = 0;
  // Schema version of the open database (after migrations).
  virtual Result<int> SchemaVersion() = 0;

  // Adds records in one transaction. Records must be finalized (uid set). A record whose uid is
  // already stored is skipped; returns how many were new. Bulk writers (imports) should pass
  // kImportBatch records per call: at 10^6+ records most of a transaction's cost is the index
  // pages it dirties (written to the journal at commit), which many records per page amortize.
  virtual Result<int64_t> Put(const std::vector<Record>& records) = 0;
  static constexpr size_t kImportBatch = 50000;

  // The k fastest valid (kOk) records for the query, fastest first; ties broken by uid.
  virtual Result<std::vector<Record>> TopK(const TopKQuery& query) = 0;

  // Calls `fn` for every record matching `filter`, in insertion order, until fn returns false.
  virtual Status Scan(const RecordFilter& filter, const std::function<bool(const Record&)>& fn) = 0;

  virtual Result<int64_t> Count(const RecordFilter& filter) = 0;

  virtual Result<std::vector<StoreSummaryRow>> Summarize() = 0;

  // Canonical config JSON of every trial (any status) already stored for this key: the search
  // never measures one of these again.
  virtual Result<std::set<std::string>> MeasuredConfigs(const std::string& workload_key,
                                                        const std::string& target_key,
                                                        const std::string& framework,
                                                        const std::string& framework_version) = 0;

  // For records of exactly (framework, framework_version): keeps the `keep` fastest valid records
  // per (workload, target) and deletes the rest of that version (failed trials included).
  // Records of any other framework or version are never touched. Returns how many were deleted.
  virtual Result<int64_t> Prune(const std::string& framework, const std::string& framework_version,
                                int keep) = 0;

  // Deletes the records matching `filter` and returns how many. A filter that matches everything
  // is refused (kInvalidArgument): a store is never emptied by accident.
  virtual Result<int64_t> Delete(const RecordFilter& filter) = 0;

  // Merges the valid records that measured one config -- same workload, target, framework,
  // framework version and config -- into one record holding every repeat's time (oldest
  // measurement first), its median and GFLOP/s recomputed, and the provenance and timestamp of
  // the oldest. Failed trials are kept as they are. Returns how many records were removed.
  virtual Result<int64_t> MergeDuplicates() = 0;
};

}  // namespace opal
