// Sandboxed measurement: a good candidate is timed; a crashing, hanging, wrong or unbuildable one
// becomes a failed trial with its reason, and the calling process is unharmed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include "opal/tuning_framework.h"
#include "tune/kernel_measure.h"
#include "tune/sandbox.h"

namespace opal {
namespace {

Workload SmallDense() {
  return Workload::FromJson({{"op", "dense"},
                             {"dtype", "float32"},
                             {"m", 19},
                             {"n", 23},
                             {"k", 29},
                             {"trans_a", false},
                             {"trans_b", true}})
      .value();
}

MeasureOptions Fast(InjectedFault fault) {
  MeasureOptions o;
  o.repeats = 3;
  o.min_repeat_s = 0.001;
  o.run_timeout_s = 3;
  o.lock_path = testing::TempDir() + "/opal-measure-test.lock";
  o.inject_fault = [fault](const Config&) { return fault; };
  return o;
}

class MeasureTest : public testing::Test {
 protected:
  void SetUp() override {
    fw_ = std::move(MakeTuningFramework("halide").value());
    host_ = Target::DetectHost();
    w_ = SmallDense();
    config_ = fw_->SeedConfigs(w_, host_).at(0);
  }
  std::unique_ptr<TuningFramework> fw_;
  Target host_;
  Workload w_ = SmallDense();
  Config config_;
};

TEST_F(MeasureTest, GoodCandidateIsTimedAndRecorded) {
  TrialResult r = fw_->Measure(w_, config_, host_, Fast(InjectedFault::kNone));
  ASSERT_EQ(r.status, TrialStatus::kOk) << r.error;
  ASSERT_EQ(r.times_s.size(), 3u);
  for (double t : r.times_s) EXPECT_GT(t, 0);
  Record rec = MakeTrialRecord(*fw_, w_, host_, config_, r);
  EXPECT_EQ(rec.framework, "halide");
  EXPECT_EQ(rec.workload_key, w_.Key());
  EXPECT_GT(rec.gflops, 0);
  EXPECT_FALSE(rec.uid.empty());
  EXPECT_EQ(rec.provenance.halide_version.substr(0, 3), "14.");
}

TEST_F(MeasureTest, CrashHangWrongAndBuildErrorAreFailedTrials) {
  struct Case {
    InjectedFault fault;
    TrialStatus want;
  } cases[] = {{InjectedFault::kCrash, TrialStatus::kCrash},
               {InjectedFault::kHang, TrialStatus::kTimeout},
               {InjectedFault::kWrongResult, TrialStatus::kMismatch},
               {InjectedFault::kBuildError, TrialStatus::kBuildError}};
  for (const Case& c : cases) {
    TrialResult r = fw_->Measure(w_, config_, host_, Fast(c.fault));
    EXPECT_EQ(r.status, c.want) << TrialStatusName(r.status) << ": " << r.error;
    EXPECT_FALSE(r.error.empty());
    EXPECT_TRUE(r.times_s.empty());
    Record rec = MakeTrialRecord(*fw_, w_, host_, config_, r);
    EXPECT_EQ(rec.status, c.want);
    EXPECT_EQ(rec.gflops, 0);
  }
}

TEST_F(MeasureTest, ConfigOutsideTheSpaceIsRejectedWithoutRunning) {
  Config bad = config_;
  bad.knobs["rx"] = 99;
  TrialResult r = fw_->Measure(w_, bad, host_, Fast(InjectedFault::kNone));
  EXPECT_EQ(r.status, TrialStatus::kBuildError);
}

// Several kernels timed side by side in one child: each gets one time per round; a config that
// fails to build is reported with its reason and the others are still timed; a kernel that
// crashes the child fails them all, and the caller is unharmed.
TEST_F(MeasureTest, SideBySideTimesEveryConfigEachRound) {
  const auto seeds = fw_->SeedConfigs(w_, host_);
  ASSERT_GE(seeds.size(), 2u);
  Config outside = seeds[0];
  outside.knobs.begin()->second = 12345;  // not a value of the space: its build is refused
  std::vector<std::string> errors;
  const auto times = fw_->MeasureSideBySide(w_, {seeds[0], outside, seeds[1]}, host_,
                                            Fast(InjectedFault::kNone), 4, &errors);
  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(times[0].size(), 4u) << errors[0];
  EXPECT_EQ(times[2].size(), 4u) << errors[2];
  for (double t : times[0]) EXPECT_GT(t, 0);
  EXPECT_TRUE(times[1].empty());
  // The failed config's own reason, attributed to it alone (not the child's whole report).
  EXPECT_EQ(errors[1].rfind("build error: ", 0), 0u) << errors[1];
  EXPECT_NE(errors[1].find("not in the workload's space"), std::string::npos) << errors[1];
  EXPECT_TRUE(errors[2].empty()) << errors[2];
  EXPECT_TRUE(errors[0].empty()) << errors[0];
}

TEST(Sandbox, SideBySideChildThatCrashesFailsEveryKernel) {
  const Workload w = SmallDense();
  const Target host = Target::DetectHost();
  MeasureOptions o = Fast(InjectedFault::kNone);
  std::vector<tune::KernelBuilder> builds(2, [](bool) -> Result<std::unique_ptr<tune::Kernel>> {
    raise(SIGSEGV);
    return Error(ErrorCode::kFailed, "unreachable");
  });
  std::vector<std::string> errors;
  const auto times = tune::MeasureKernelsSideBySide(w, host, builds, o, 3, &errors);
  ASSERT_EQ(times.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(times[i].empty());
    EXPECT_NE(errors[i].find("crash"), std::string::npos) << errors[i];
  }
}

TEST(Sandbox, DeviceLockSerializes) {
  std::string path = testing::TempDir() + "/opal-lock-test.lock";
  tune::DeviceLock held(path);
  ASSERT_TRUE(held.held());
  // Another process cannot take the lock while we hold it.
  TrialResult r = tune::RunSandboxed(
      [&](tune::TrialChannel& ch) {
        ch.EnterRunPhase();
        TrialResult t;
        int fd = open(path.c_str(), O_RDWR);
        t.status = flock(fd, LOCK_EX | LOCK_NB) == 0 ? TrialStatus::kOk : TrialStatus::kTimeout;
        return t;
      },
      10, 10);
  EXPECT_EQ(r.status, TrialStatus::kTimeout);
}

// True when another process can take `op` (LOCK_EX or LOCK_SH) on `path` without waiting.
bool LockableFromAnotherProcess(const std::string& path, int op) {
  TrialResult r = tune::RunSandboxed(
      [&](tune::TrialChannel& ch) {
        ch.EnterRunPhase();
        TrialResult t;
        int fd = open(path.c_str(), O_RDWR | O_CREAT, 0666);
        t.status = flock(fd, op | LOCK_NB) == 0 ? TrialStatus::kOk : TrialStatus::kTimeout;
        return t;
      },
      10, 10);
  return r.status == TrialStatus::kOk;
}

// A build holds the build slot shared: other builds go on, a measurement cannot start; a
// measurement (DeviceLock) holds the slot exclusively, so no build starts while a kernel is timed.
TEST(Sandbox, BuildsAndTimedRunsNeverOverlap) {
  const std::string path = testing::TempDir() + "/opal-build-slot-test.lock";
  const std::string slot = tune::BuildSlotPath(path);
  {
    tune::BuildSlot build(path);
    ASSERT_TRUE(build.held());
    EXPECT_TRUE(LockableFromAnotherProcess(slot, LOCK_SH));   // another build
    EXPECT_FALSE(LockableFromAnotherProcess(slot, LOCK_EX));  // a measurement
    EXPECT_TRUE(LockableFromAnotherProcess(path, LOCK_EX));   // the device itself is free
  }
  {
    tune::DeviceLock measuring(path);
    ASSERT_TRUE(measuring.held());
    EXPECT_FALSE(LockableFromAnotherProcess(slot, LOCK_SH));  // no build starts
    EXPECT_FALSE(LockableFromAnotherProcess(path, LOCK_EX));
  }
  EXPECT_TRUE(LockableFromAnotherProcess(slot, LOCK_EX));  // both released
  EXPECT_TRUE(LockableFromAnotherProcess(path, LOCK_EX));
}

}  // namespace
}  // namespace opal
