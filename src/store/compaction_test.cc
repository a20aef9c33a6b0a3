// Store compaction on every backend: old framework versions go to a gzip archive that reads back
// to the same records, and are deleted only once the archive is complete; duplicates merge.
#include "opal/store_compaction.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "opal/record_file.h"
#include "store/store_test_util.h"

namespace opal::store::testing {
namespace {

class Compaction : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto dsn = FreshDsn(GetParam());
    ASSERT_TRUE(dsn.ok()) << dsn.status().message();
    dsn_ = *dsn;
    auto s = RecordStore::Open(dsn_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
    dir_ = std::filesystem::temp_directory_path() / ("opal_compaction_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    for (int i = 0; i < 40; ++i) {
      old_.push_back(MakeRecord({.workload = i % 4, .version = "0.9", .config = "{\"o\":" + std::to_string(i) + "}",
                                 .status = i % 5 == 0 ? TrialStatus::kTimeout : TrialStatus::kOk}));
      current_.push_back(MakeRecord({.workload = i % 4, .version = "1.0", .config = "{\"c\":" + std::to_string(i % 20) + "}",
                                     .median = (1 + i) * 1e-4, .timestamp_us = 1700000000000000 + i}));
    }
    std::vector<Record> all = old_;
    all.insert(all.end(), current_.begin(), current_.end());
    ASSERT_EQ(*store_->Put(all), 80);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // The SQL stores' one-row summaries hold exactly each group's best records (memory: nothing).
  void ExpectBestRowsMatch(const std::string& when) {
    if (GetParam() == "memory") return;
    Status st = CheckBestRows(dsn_);
    EXPECT_TRUE(st.ok()) << when << ": " << st.message();
  }

  std::string dsn_;
  std::unique_ptr<RecordStore> store_;
  std::filesystem::path dir_;
  std::vector<Record> old_, current_;
};

TEST_P(Compaction, ArchivesOldVersionsAndMergesDuplicates) {
  const std::string archive = (dir_ / "halide-0.9.jsonl.gz").string();
  auto report = CompactStore(*store_, {.framework = "halide", .archive_versions = {"0.9"}, .archive_path = archive,
                                       .merge_duplicates = true});
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->records_before, 80);
  EXPECT_EQ(report->archived, 40);
  EXPECT_EQ(report->merged_away, 20) << "20 configs of version 1.0 were measured twice";
  EXPECT_EQ(report->records_after, 20);
  EXPECT_EQ(*store_->Count({.framework_version = "0.9"}), 0);
  ExpectBestRowsMatch("after archiving and merging");
  // The archive is gzip and holds exactly the archived records, byte-identical content.
  std::set<std::string> archived, want;
  for (const Record& r : old_) want.insert(r.uid);
  std::vector<Record> back;
  ASSERT_TRUE(ForEachRecordLine(archive, [&](int64_t, std::string_view line) -> Status {
    OPAL_ASSIGN_OR_RETURN(Record r, ParseRecordLine(line));
    archived.insert(r.uid);
    back.push_back(r);
    return Status::Ok();
  }).ok());
  EXPECT_EQ(archived, want);
  FILE* f = fopen(archive.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(fgetc(f), 0x1f) << "gzip magic";
  EXPECT_EQ(fgetc(f), 0x8b);
  fclose(f);
  // Importing the archive restores them.
  EXPECT_EQ(*store_->Put(back), 40);
  EXPECT_EQ(*store_->Count({.framework_version = "0.9"}), 40);
  ExpectBestRowsMatch("after importing the archive");
}

TEST_P(Compaction, NothingIsDeletedWhenTheArchiveCannotBeWritten) {
  auto report = CompactStore(*store_, {.framework = "halide", .archive_versions = {"0.9"},
                                       .archive_path = (dir_ / "no-such-dir" / "a.gz").string()});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kIo) << report.status().message();
  EXPECT_EQ(*store_->Count({}), 80);
  EXPECT_FALSE(CompactStore(*store_, {.archive_versions = {"0.9"}}).ok()) << "no framework, no archive";
}

INSTANTIATE_TEST_SUITE_P(Backends, Compaction, ::testing::Values("memory", "sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace opal::store::testing
