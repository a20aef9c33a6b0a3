// Record files: JSON lines of opal.record/1 (Record::ToJson), one record per line, plain or
// gzip-compressed. `opal db export` writes them, `opal db import` and compaction archives read
// them, and any module that ships records with opal (e.g. a file of measured records installed
// next to a model) reads them with ReadRecordFile or, record by record, with ForEachRecordLine +
// ParseRecordLine. These functions need no store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "opal/record.h"
#include "opal/status.h"

namespace opal {

// One line of a record file. kInvalidArgument when it is not JSON or not a valid record (a field
// missing or of the wrong type, a uid that does not match the content); never throws, whatever
// the bytes.
Result<Record> ParseRecordLine(std::string_view line);

// Calls fn(line number, line) for every non-empty line of `path`, plain or gzip (detected from
// the content, not the name), until fn returns an error, which is returned. Line numbers count
// from 1 and include empty lines. kNotFound when the file cannot be opened, kIo when it cannot be
// read, including a gzip stream that is cut short or damaged (the lines before the damage have
// been passed to fn by then).
Status ForEachRecordLine(
    const std::string& path,
    const std::function<Status(int64_t line_number, std::string_view line)>& fn);

// Every record of a record file (plain or gzip), in file order. The first bad line fails the whole
// read: kInvalidArgument "PATH:LINE: why"; the errors of ForEachRecordLine otherwise.
Result<std::vector<Record>> ReadRecordFile(const std::string& path);

// Writes records as JSON lines (canonical JSON, the form `opal db export` writes) to a file, or to
// stdout when path is "-", gzip-compressed when asked. Close() must succeed for the file to be
// complete (kIo otherwise, e.g. a full disk); a writer destroyed without Close() leaves whatever
// was flushed. Not thread-safe.
class RecordFileWriter {
 public:
  // kIo when the file cannot be created.
  static Result<std::unique_ptr<RecordFileWriter>> Create(const std::string& path, bool gzip);
  virtual ~RecordFileWriter() = default;
  virtual Status Write(const Record& r) = 0;
  virtual Status Close() = 0;
};

}  // namespace opal
