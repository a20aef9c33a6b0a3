// How a Record maps to SQL rows, for every SQL backend: the columns read back (records r joined
// with workloads w and targets t), the columns written, and the conversions both ways. Values are
// always parameters, never spliced into the statement.
#pragma once

#include <string>
#include <vector>

#include "opal/record.h"
#include "store/sql_session.h"

namespace opal::store {

// SELECT list over records r JOIN workloads w JOIN targets t, in the order RowToRecord reads.
extern const char* const kRecordColumns;
constexpr int kRecordColumnCount = 22;
// FROM clause matching kRecordColumns.
extern const char* const kRecordFrom;
// Column list of INSERT INTO records, in the order AppendRecordParams writes them.
extern const char* const kRecordInsertColumns;
constexpr int kRecordInsertParams = 19;

Result<Record> RowToRecord(const SqlRowView& row);
// The record's values in kRecordInsertColumns order (workload and target ids first).
void AppendRecordParams(const Record& r, int64_t workload_id, int64_t target_id, SqlParams& out);

// times_s as canonical JSON text and back.
std::string TimesToText(const std::vector<double>& times);
Result<std::vector<double>> TimesFromText(const std::string& text);

}  // namespace opal::store
