// Record files: plain and gzip JSON lines read back to the same records; damage is an error
// that names the file and line, never a crash and never a silent short read.
#include "opal/record_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "opal/json.h"
#include "store/store_test_util.h"

namespace opal {
namespace {

// Distinct records: workload, config, times and timestamp vary with i.
Record Sample(int i) {
  return store::testing::MakeRecord({.workload = i,
                                     .config = "{\"t\":" + std::to_string(i) + "}",
                                     .median = 1e-3 * (i + 1),
                                     .timestamp_us = 42 + i});
}

class RecordFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("opal_record_file_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    for (int i = 0; i < 2000; ++i) records_.push_back(Sample(i));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, bool gzip) {
    const std::string path = (dir_ / name).string();
    auto w = RecordFileWriter::Create(path, gzip);
    EXPECT_TRUE(w.ok()) << w.status().message();
    for (const Record& r : records_) EXPECT_TRUE((*w)->Write(r).ok());
    EXPECT_TRUE((*w)->Close().ok());
    return path;
  }

  std::filesystem::path dir_;
  std::vector<Record> records_;
};

TEST_F(RecordFile, PlainAndGzipReadBackToTheSameRecords) {
  for (bool gzip : {false, true}) {
    const std::string path = Write(gzip ? "r.jsonl.gz" : "r.jsonl", gzip);
    std::ifstream in(path, std::ios::binary);
    const int magic = in.get();
    EXPECT_EQ(magic == 0x1f, gzip) << "gzip files start with the gzip magic, plain ones with '{'";
    auto back = ReadRecordFile(path);
    ASSERT_TRUE(back.ok()) << back.status().message();
    ASSERT_EQ(back->size(), records_.size());
    for (size_t i = 0; i < records_.size(); ++i) EXPECT_EQ((*back)[i].uid, records_[i].uid);
    EXPECT_EQ((*back)[7].times_s, records_[7].times_s);
  }
  EXPECT_LT(std::filesystem::file_size(dir_ / "r.jsonl.gz") * 4,
            std::filesystem::file_size(dir_ / "r.jsonl"))
      << "the gzip file is much smaller";
}

TEST_F(RecordFile, ATruncatedGzipFileIsAnErrorNotAShortRead) {
  const std::string path = Write("t.jsonl.gz", true);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  int64_t lines = 0;
  Status st = ForEachRecordLine(path, [&](int64_t, std::string_view) {
    ++lines;
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), ErrorCode::kIo) << st.message();
  EXPECT_LT(lines, 2000);
  EXPECT_FALSE(ReadRecordFile(path).ok());
}

TEST_F(RecordFile, BadLinesNameTheFileAndLine) {
  const std::string path = (dir_ / "bad.jsonl").string();
  {
    std::ofstream out(path);
    out << CanonicalJson(records_[0].ToJson()) << "\n\n";
    Json edited = records_[1].ToJson();
    edited["median_s"] = 9.0;  // the uid no longer matches the content
    out << edited.dump() << "\n";
  }
  auto r = ReadRecordFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(path + ":3"), std::string::npos) << r.status().message();
  EXPECT_EQ(ReadRecordFile((dir_ / "missing.jsonl").string()).status().code(),
            ErrorCode::kNotFound);
  for (std::string_view junk :
       {"", "{", "[1,2]", "null", "{\"uid\":3}", "\xff\xfe", "{\"a\":\"\\ud800\"}"})
    EXPECT_FALSE(ParseRecordLine(junk).ok()) << junk;
  auto good = ParseRecordLine(CanonicalJson(records_[5].ToJson()));
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->uid, records_[5].uid);
}

TEST_F(RecordFile, AWriterReportsAFileItCannotCreate) {
  auto w = RecordFileWriter::Create((dir_ / "no-such-dir" / "x.gz").string(), true);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace opal
