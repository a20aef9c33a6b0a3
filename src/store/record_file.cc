#include "opal/record_file.h"

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "opal/json.h"

namespace opal {
namespace {

Status WriteFailed(const std::string& path) {
  return Error(ErrorCode::kIo, "writing {} failed (disk full?)", path == "-" ? "stdout" : path);
}

// Plain text to a FILE (stdout is flushed, never closed).
class PlainWriter final : public RecordFileWriter {
 public:
  PlainWriter(FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  ~PlainWriter() override {
    if (f_ && f_ != stdout) std::fclose(f_);
  }
  Status Write(const Record& r) override {
    const std::string line = CanonicalJson(r.ToJson()) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), f_) != line.size()) return WriteFailed(path_);
    return Status::Ok();
  }
  Status Close() override {
    bool ok = std::fflush(f_) == 0;
    if (f_ != stdout) ok = std::fclose(f_) == 0 && ok;
    f_ = nullptr;
    return ok ? Status::Ok() : WriteFailed(path_);
  }

 private:
  FILE* f_;
  std::string path_;
};

class GzipWriter final : public RecordFileWriter {
 public:
  GzipWriter(gzFile f, std::string path) : f_(f), path_(std::move(path)) {}
  ~GzipWriter() override {
    if (f_) gzclose(f_);
  }
  Status Write(const Record& r) override {
    const std::string line = CanonicalJson(r.ToJson()) + "\n";
    if (gzwrite(f_, line.data(), static_cast<unsigned>(line.size())) !=
        static_cast<int>(line.size()))
      return WriteFailed(path_);
    return Status::Ok();
  }
  Status Close() override {
    const int rc = gzclose(f_);
    f_ = nullptr;
    return rc == Z_OK ? Status::Ok() : WriteFailed(path_);
  }

 private:
  gzFile f_;
  std::string path_;
};

}  // namespace

Result<Record> ParseRecordLine(std::string_view line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(ErrorCode::kInvalidArgument, "not valid JSON");
  try {
    return Record::FromJson(j);
  } catch (const std::exception& e) {  // e.g. text that is not valid UTF-8 met when hashing
    return Error(ErrorCode::kInvalidArgument, "not a valid record: {}", e.what());
  }
}

Status ForEachRecordLine(
    const std::string& path,
    const std::function<Status(int64_t line_number, std::string_view line)>& fn) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files as they are
  if (!f) return Error(ErrorCode::kNotFound, "cannot read {}", path);
  gzbuffer(f, 1 << 16);
  std::string line;
  char buf[1 << 16];
  int64_t number = 0;
  Status st = Status::Ok();
  while (st.ok()) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      st = Error(ErrorCode::kIo, "reading {} failed: {}", path, gzerror(f, &code));
      break;
    }
    for (const char *p = buf, *end = buf + n; p < end && st.ok();) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      line.append(p, nl ? nl : end);
      if (!nl) break;
      ++number;
      if (!line.empty()) st = fn(number, line);
      line.clear();
      p = nl + 1;
    }
    if (n == 0) {
      // zlib reports a stream cut short as the end of the file, with Z_BUF_ERROR set.
      int code = Z_OK;
      const char* why = gzerror(f, &code);
      if (st.ok() && code != Z_OK) {
        st = Error(ErrorCode::kIo,
                   "reading {} failed after line {}: {} (a truncated or damaged gzip file?)", path,
                   number, why);
        break;
      }
      ++number;
      if (st.ok() && !line.empty()) st = fn(number, line);
      break;
    }
  }
  gzclose(f);
  return st;
}

Result<std::vector<Record>> ReadRecordFile(const std::string& path) {
  std::vector<Record> out;
  OPAL_RETURN_IF_ERROR(
      ForEachRecordLine(path, [&](int64_t number, std::string_view line) -> Status {
        Result<Record> r = ParseRecordLine(line);
        if (!r.ok()) return r.status().WithContext(fmt::format("{}:{}", path, number));
        out.push_back(std::move(*r));
        return Status::Ok();
      }));
  return out;
}

Result<std::unique_ptr<RecordFileWriter>> RecordFileWriter::Create(const std::string& path,
                                                                   bool gzip) {
  const bool to_stdout = path == "-";
  if (gzip) {
    gzFile f = to_stdout ? gzdopen(dup(STDOUT_FILENO), "wb6") : gzopen(path.c_str(), "wb6");
    if (!f) return Error(ErrorCode::kIo, "cannot write {}", path);
    return std::unique_ptr<RecordFileWriter>(new GzipWriter(f, path));
  }
  if (to_stdout) return std::unique_ptr<RecordFileWriter>(new PlainWriter(stdout, path));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Error(ErrorCode::kIo, "cannot write {}", path);
  return std::unique_ptr<RecordFileWriter>(new PlainWriter(f, path));
}

}  // namespace opal
