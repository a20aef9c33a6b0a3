// SQL shared by the SQLite and PostgreSQL backends: the record columns in SELECT order and the
// mapping of a result row to a Record. Values are always bound as parameters, never spliced.
#pragma once

#include <functional>
#include <string>

#include "opal/record.h"

namespace opal::store {

// SELECT list over records r JOIN workloads w JOIN targets t, in the order RowToRecord reads.
extern const char* const kRecordColumns;
// FROM clause matching kRecordColumns.
extern const char* const kRecordFrom;
// Column list and placeholders count of INSERT INTO records (workload_id and target_id first).
extern const char* const kRecordInsertColumns;
constexpr int kRecordInsertParams = 19;

// A row accessor: text of column i (doubles and integers are read from their text in PostgreSQL
// and natively in SQLite, so the backends supply typed getters).
struct RowReader {
  std::function<std::string(int)> text;
  std::function<double(int)> real;
  std::function<int64_t(int)> integer;
};
Result<Record> RowToRecord(const RowReader& row);

// Record fields bound in kRecordInsertColumns order after (workload_id, target_id): a callback
// per parameter index (1-based, starting at 3) with either text, a double or an integer.
struct ParamWriter {
  std::function<void(int, const std::string&)> text;
  std::function<void(int, double)> real;
  std::function<void(int, int64_t)> integer;
};
void WriteRecordParams(const Record& r, const ParamWriter& w);

// times_s as canonical JSON text and back.
std::string TimesToText(const std::vector<double>& times);
Result<std::vector<double>> TimesFromText(const std::string& text);

}  // namespace opal::store
