// The kernels' thread pool: every index of a loop runs exactly once, errors come back, nested
// loops and loops from several threads at once are safe, and the pool can be resized.
#include "runtime/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace opal_rt {
namespace {

struct Counts {
  std::vector<std::atomic<int>> hits;
  std::atomic<int> nested{0};
  int fail_at = -1;
  explicit Counts(int n) : hits(static_cast<size_t>(n)) {}
};

int CountTask(void*, int i, uint8_t* closure) {
  auto* c = reinterpret_cast<Counts*>(closure);
  c->hits[static_cast<size_t>(i)].fetch_add(1);
  return i == c->fail_at ? 7 : 0;
}

int NestedTask(void* ctx, int i, uint8_t* closure) {
  auto* c = reinterpret_cast<Counts*>(closure);
  // A loop inside a task: runs on this thread, every index once.
  Counts inner(4);
  EXPECT_EQ(PoolDoParFor(ctx, CountTask, 0, 4, reinterpret_cast<uint8_t*>(&inner)), 0);
  for (auto& h : inner.hits) EXPECT_EQ(h.load(), 1);
  c->nested.fetch_add(1);
  return CountTask(ctx, i, closure);
}

TEST(ThreadPool, EveryIndexRunsOnceForEverySize) {
  InstallThreadPool();
  for (int threads : {1, 2, 4}) {
    SetPoolThreads(threads);
    for (int size : {0, 1, 2, 3, 17, 1000}) {
      for (int min : {0, 5}) {
        Counts c(min + size);
        ASSERT_EQ(PoolDoParFor(nullptr, CountTask, min, size, reinterpret_cast<uint8_t*>(&c)), 0);
        for (int i = 0; i < min + size; ++i) EXPECT_EQ(c.hits[static_cast<size_t>(i)].load(), i >= min ? 1 : 0) << i;
      }
    }
  }
}

TEST(ThreadPool, AFailingTaskIsReportedAndTheOthersStillRun) {
  SetPoolThreads(3);
  Counts c(64);
  c.fail_at = 40;
  EXPECT_EQ(PoolDoParFor(nullptr, CountTask, 0, 64, reinterpret_cast<uint8_t*>(&c)), 7);
  for (auto& h : c.hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPool, NestedLoopsRunOnTheCallingThread) {
  SetPoolThreads(2);
  Counts c(32);
  EXPECT_EQ(PoolDoParFor(nullptr, NestedTask, 0, 32, reinterpret_cast<uint8_t*>(&c)), 0);
  EXPECT_EQ(c.nested.load(), 32);
  for (auto& h : c.hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPool, LoopsFromSeveralThreadsAtOnce) {
  SetPoolThreads(2);
  std::vector<std::thread> callers;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round) {
        Counts c(50);
        if (PoolDoParFor(nullptr, CountTask, 0, 50, reinterpret_cast<uint8_t*>(&c)) != 0) bad.fetch_add(1);
        for (auto& h : c.hits) bad.fetch_add(h.load() != 1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(ThreadPool, WorkersWakeAfterSleeping) {
  SetPoolThreads(2);
  std::this_thread::sleep_for(std::chrono::microseconds(3 * kSpinMicros));  // workers asleep now
  Counts c(100);
  EXPECT_EQ(PoolDoParFor(nullptr, CountTask, 0, 100, reinterpret_cast<uint8_t*>(&c)), 0);
  for (auto& h : c.hits) EXPECT_EQ(h.load(), 1);
}

}  // namespace
}  // namespace opal_rt
