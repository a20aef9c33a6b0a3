#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace opal_rt {
namespace {

constexpr int kMaxThreads = 64;

// One parallel loop, split into one block of consecutive indices per participant.
struct Loop {
  void* user_context = nullptr;
  halide_task_t task = nullptr;
  uint8_t* closure = nullptr;
  int min = 0, size = 0;
  int threads = 1;
  std::atomic<int> done{0};
  std::atomic<int> result{0};
  struct alignas(64) Cursor {
    std::atomic<int> next{0};  // the block's next index not yet taken
  };
  Cursor block[kMaxThreads];

  int Begin(int b) const { return static_cast<int>(int64_t{size} * b / threads); }
};

thread_local bool t_in_task = false;

class Pool {
 public:
  ~Pool() { Stop(); }

  void SetThreads(int n) {
    std::lock_guard<std::mutex> run(run_mu_);
    Stop();
    n = std::min(n, kMaxThreads);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { Work(i); });
  }

  int ParFor(void* ctx, halide_task_t task, int min, int size, uint8_t* closure) {
    if (size <= 0) return 0;
    if (t_in_task || workers_.empty() || size == 1) return Serial(ctx, task, min, size, closure);
    std::lock_guard<std::mutex> run(run_mu_);
    Loop loop;
    loop.user_context = ctx;
    loop.task = task;
    loop.closure = closure;
    loop.min = min;
    loop.size = size;
    loop.threads = static_cast<int>(workers_.size()) + 1;
    for (int b = 0; b < loop.threads; ++b) loop.block[b].next.store(loop.Begin(b), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      current_.store(&loop, std::memory_order_seq_cst);
      epoch_.fetch_add(1, std::memory_order_acq_rel);
    }
    if (sleeping_.load(std::memory_order_acquire) > 0) cv_.notify_all();
    Participate(loop, 0);
    for (int spins = 0; loop.done.load(std::memory_order_acquire) < size; ++spins) Relax(spins);
    // Workers may still hold a pointer to the loop: wait until none is inside it. (Sequentially
    // consistent on both sides: a worker announces itself in inside_ before it reads current_.)
    current_.store(nullptr, std::memory_order_seq_cst);
    for (int spins = 0; inside_.load(std::memory_order_seq_cst) > 0; ++spins) Relax(spins);
    return loop.result.load(std::memory_order_relaxed);
  }

 private:
  static void Relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  // Waiting on another thread: pause, and once that has lasted milliseconds (the other thread
  // has been descheduled on a busy host) give the core away on every turn. Not sooner: a yield
  // hands the core to any runnable task, even an idle-priority one, for up to a scheduler tick.
  static void Relax(int spins) {
    if (spins < (1 << 16)) {
      Relax();
    } else {
      std::this_thread::yield();
    }
  }

  static int Serial(void* ctx, halide_task_t task, int min, int size, uint8_t* closure) {
    for (int i = min; i < min + size; ++i) {
      if (int r = task(ctx, i, closure)) return r;
    }
    return 0;
  }

  // Participant p (the caller 0, worker i i+1) runs the indices of its own block,
  // [p*size/threads, (p+1)*size/threads), in chunks of an eighth of a block (one atomic operation
  // per chunk: a loop of thousands of tiny tasks stays cheap), then takes what is left of the
  // others' blocks the same way. Consecutive kernels split alike (image rows, say) so give each core the
  // data its previous kernel wrote into its own cache, where a dynamic split reads half of it
  // from the other core; and a participant that is late or descheduled (a busy host) has its
  // block finished by the others instead of holding up the loop.
  static void Participate(Loop& loop, int self) {
    const bool outer = !t_in_task;
    t_in_task = true;
    const int n = loop.threads;
    for (int k = 0; k < n; ++k) {
      const int blk = (self + k) % n, end = loop.Begin(blk + 1);
      const int chunk = std::max(1, (end - loop.Begin(blk)) / 8);
      int ran = 0;
      for (;;) {
        const int first = loop.block[blk].next.fetch_add(chunk, std::memory_order_relaxed);
        if (first >= end) break;
        const int last = std::min(end, first + chunk);
        for (int i = first; i < last; ++i) {
          const int r = loop.task(loop.user_context, loop.min + i, loop.closure);
          if (r != 0) {
            int expected = 0;
            loop.result.compare_exchange_strong(expected, r);
          }
        }
        ran += last - first;
      }
      if (ran > 0) loop.done.fetch_add(ran, std::memory_order_acq_rel);
    }
    if (outer) t_in_task = false;
  }

  void Work(int self) {
    uint64_t seen = epoch_.load(std::memory_order_acquire);
    auto last_work = std::chrono::steady_clock::now();
    while (!stop_.load(std::memory_order_acquire)) {
      const uint64_t e = epoch_.load(std::memory_order_acquire);
      if (e != seen) {
        seen = e;
        inside_.fetch_add(1, std::memory_order_seq_cst);
        if (Loop* loop = current_.load(std::memory_order_seq_cst)) Participate(*loop, self);
        inside_.fetch_sub(1, std::memory_order_seq_cst);
        last_work = std::chrono::steady_clock::now();
        continue;
      }
      if (std::chrono::steady_clock::now() - last_work < std::chrono::microseconds(kSpinMicros)) {
        for (int k = 0; k < 64; ++k) Relax();
        continue;
      }
      std::unique_lock<std::mutex> lk(mu_);
      sleeping_.fetch_add(1, std::memory_order_acq_rel);
      cv_.wait(lk, [&] { return stop_.load() || epoch_.load(std::memory_order_acquire) != seen; });
      sleeping_.fetch_sub(1, std::memory_order_acq_rel);
      last_work = std::chrono::steady_clock::now();
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stop_.store(false, std::memory_order_release);
  }

  std::mutex run_mu_;  // one loop at a time
  std::mutex mu_;      // guards sleeping workers' wake-up
  std::condition_variable cv_;
  std::atomic<Loop*> current_{nullptr};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> inside_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

Pool& ThePool() {
  static Pool* pool = new Pool;  // never destroyed: workers may outlive static destruction order
  return *pool;
}

}  // namespace

void SetPoolThreads(int n) { ThePool().SetThreads(n); }

int PoolDoParFor(void* user_context, halide_task_t task, int min, int size, uint8_t* closure) {
  return ThePool().ParFor(user_context, task, min, size, closure);
}

}  // namespace opal_rt
