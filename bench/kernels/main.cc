// bench_kernels: opal's best tuned kernels against oneDNN and OpenBLAS, measured in one run.
//
// Suite: the 1024^3 GEMM, the GEMMs of BERT-base (sequence 128, batch 1) and every Conv of
// ResNet-50 at batch 1 (read from the model with opal's task extraction). For each workload the
// 3 best records in the store (optionally after tuning it here with --trials) are re-measured now
// (sandboxed, checked against the reference); the fastest of them in this process, chosen in
// rounds of their own, is timed beside the peers in alternating rounds (each a median of repeats
// after warm-up, under the device lock), so that clock drift hits every side alike; each side's
// time is its median over rounds, each ratio the median of the per-round ratios. The machine's
// fp32 FMA peak is timed in the same rounds, so that each workload's "% of peak" is the median of
// per-round ratios too, not a ratio across moments of a drifting clock.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "baselines.h"
#include "opal/cost_model_training.h"
#include "opal/onnx_import.h"
#include "opal/record_store.h"
#include "opal/tasks.h"
#include "opal/tuning_peak.h"
#include "opal/tuning_search.h"
#include "opal/tuning_kernel.h"

namespace opal::bench {
namespace {

struct Options {
  std::string suite = "all";
  std::string model = std::string(OPAL_SOURCE_DIR) + "/../shared/models/resnet50/model.onnx";
  std::string store;
  std::string filter;
  std::string strategy = "evolutionary";
  int trials = 0;
  double time_budget_s = 0;
  int early_stop = 0;
  int transfer = 8;
  std::string cost_model;  // guides the tuning (model-guided search), as opal tune --cost-model
  int retrain_every = 0;
  int repeats = 5;
  int rounds = 5;
  bool json = false;
};

struct Entry {
  std::string name;
  Workload w;
};

Workload Dense(int m, int n, int k) {
  return Workload::FromJson({{"op", "dense"},
                             {"dtype", "float32"},
                             {"m", m},
                             {"n", n},
                             {"k", k},
                             {"trans_a", false},
                             {"trans_b", false}})
      .value();
}

Workload Bmm(int b, int m, int n, int k) {
  return Workload::FromJson({{"op", "batch_matmul"},
                             {"dtype", "float32"},
                             {"batch", b},
                             {"m", m},
                             {"n", n},
                             {"k", k},
                             {"broadcast", "none"}})
      .value();
}

Result<std::vector<Entry>> Suite(const Options& o) {
  std::vector<Entry> s;
  if (o.suite == "all" || o.suite == "gemm") {
    s.push_back({"gemm 1024^3", Dense(1024, 1024, 1024)});
    s.push_back({"bert qkv", Dense(128, 2304, 768)});
    s.push_back({"bert attn-out", Dense(128, 768, 768)});
    s.push_back({"bert ffn1", Dense(128, 3072, 768)});
    s.push_back({"bert ffn2", Dense(128, 768, 3072)});
    s.push_back({"bert q*k^T", Bmm(12, 128, 128, 64)});
    s.push_back({"bert attn*v", Bmm(12, 128, 64, 128)});
  }
  if (o.suite == "all" || o.suite == "resnet50") {
    OPAL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(o.model, {}));
    TaskList tl = ExtractTasks(g);
    for (const Task& t : tl.tasks) {
      if (t.workload.op() == "conv2d")
        s.push_back({"resnet50 x" + std::to_string(t.count), t.workload});
    }
  }
  if (s.empty()) return Error(ErrorCode::kInvalidArgument, "--suite must be all, gemm or resnet50");
  std::vector<Entry> out;
  for (auto& e : s) {
    if (o.filter.empty() || e.name.find(o.filter) != std::string::npos ||
        e.w.Key().find(o.filter) != std::string::npos ||
        e.w.Summary().find(o.filter) != std::string::npos) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

struct Row {
  Entry e;
  double ours_s = 0, dnnl_s = 0, blas_s = 0;
  double vs_dnnl = 0, vs_blas = 0;  // medians of the per-round speed ratios (peer time / opal time)
  double peak_gflops = 0;           // median of the FMA peak timed in this workload's rounds
  double ours_peak = 0, dnnl_peak = 0;  // medians of the per-round fractions of that peak
  std::string dnnl_impl, note;
  int tuned_trials = 0;
  double tune_s = 0;
  Json config;  // the config timed (null without a record)
  int config_rank = 0;  // its rank among the stored best (1 = the store's fastest)
};

double Gflops(const Workload& w, double s) { return s > 0 ? w.Flops() / s / 1e9 : 0; }

// The FMA peak loop as one more kernel of the alternating rounds.
class PeakKernel : public PeerKernel {
 public:
  explicit PeakKernel(int threads) : loop_(threads, 0.01) {}
  void Run() override { loop_.Run(); }
  std::string Impl() const override { return "fp32 FMA loop"; }
  double Gflops(double s) const { return s > 0 ? loop_.Flops() / s / 1e9 : 0; }

 private:
  Fp32PeakLoop loop_;
};

// One of the store's best configs that passed the sandboxed re-measure.
struct Candidate {
  Config config;
  int rank = 0;          // 1 = the store's fastest
  double sandbox_s = 0;  // its sandboxed median now
};

// The candidate to time against the peers, with its kernel built in this process. The choice is
// made here, where the peers run, by 3 alternating rounds of the candidates' own: which config is
// fastest in a sandbox child and in a process that also hosts oneDNN and OpenBLAS can differ, and
// the choice would otherwise flip between runs. The peer rounds are separate measurements, so the
// choice does not bias them. When no candidate builds in-process, the fastest sandboxed one with a
// null kernel and *why set; nullptr without candidates.
struct Choice {
  const Candidate* candidate = nullptr;
  std::unique_ptr<PeerKernel> kernel;
};

Choice Choose(const Workload& w, const std::vector<Candidate>& cands, int repeats, double min_repeat_s,
              std::string* why) {
  Choice out;
  std::vector<std::unique_ptr<PeerKernel>> built;
  std::vector<const Candidate*> of;  // built[i] is the kernel of *of[i]
  for (const Candidate& c : cands) {
    if (!out.candidate || c.sandbox_s < out.candidate->sandbox_s) out.candidate = &c;
    if (auto k = MakeOpalKernel(w, c.config, why)) {
      built.push_back(std::move(k));
      of.push_back(&c);
    }
  }
  if (built.empty()) return out;
  size_t pick = 0;
  if (built.size() > 1) {
    std::vector<PeerKernel*> ptrs;
    for (auto& k : built) ptrs.push_back(k.get());
    constexpr int kSelectRounds = 3;
    const auto t = TimeAlternating(ptrs, kSelectRounds, repeats, min_repeat_s);
    for (size_t k = 1; k < built.size(); ++k)
      if (Median(t[k]) < Median(t[pick])) pick = k;
  }
  out.candidate = of[pick];
  out.kernel = std::move(built[pick]);
  return out;
}

double GeoMean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += std::log(x);
  return std::exp(s / double(v.size()));
}

Status Run(const Options& o) {
  OPAL_ASSIGN_OR_RETURN(std::vector<Entry> suite, Suite(o));
  const std::string dsn = o.store.empty() ? RecordStore::DefaultDsn() : o.store;
  OPAL_ASSIGN_OR_RETURN(auto store, RecordStore::Open(dsn));
  OPAL_ASSIGN_OR_RETURN(auto fw, MakeTuningFramework("halide"));
  const Target host = Target::DetectHost();
  MeasureOptions mo;
  mo.repeats = o.repeats;
  mo.min_repeat_s = 0.05;
  const std::string lock_path = tune::DeviceLockPath(mo, host);

  PeakKernel peak_loop(host.cores);
  std::vector<double> peaks;  // every round's peak, over all workloads

  std::optional<costmodel::SearchGuide> guide;
  if (!o.cost_model.empty()) {
    if (o.trials <= 0) return Error(ErrorCode::kInvalidArgument, "--cost-model guides tuning: give --trials N");
    OPAL_ASSIGN_OR_RETURN(guide, costmodel::LoadSearchGuide(o.cost_model, dsn, *store, *fw, o.retrain_every));
  }

  std::vector<Row> rows;
  for (size_t i = 0; i < suite.size(); ++i) {
    Row r;
    r.e = suite[i];
    const Workload& w = r.e.w;
    fmt::print(stderr, "[{}/{}] {}  {}\n", i + 1, suite.size(), r.e.name, w.Summary());
    if (o.trials > 0) {
      SearchOptions so;
      so.strategy = o.strategy;
      so.max_trials = o.trials;
      so.time_budget_s = o.time_budget_s;
      so.early_stop = o.early_stop;
      so.transfer = o.transfer;
      if (guide) so.rank = guide->Rank(*fw, host, store.get());
      so.on_trial = [&](const TuneProgress& p) {
        fmt::print(stderr, "\r\033[K  tuning trial {}/{}  best {:.1f} GFLOP/s  failed {}", p.trial,
                   p.max_trials, p.best_gflops, p.failed);
      };
      auto t = TuneWorkload(*fw, w, host, *store, so);
      fmt::print(stderr, "\n");
      if (!t.ok()) return t.status();
      r.tuned_trials = t->trials;
      r.tune_s = t->elapsed_s;
    }
    OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> top, BestStoredConfigs(*fw, *store, w, host, 3));
    // The best stored configs, each re-measured now by the framework (sandboxed, checked against
    // the reference); a config that fails is not timed.
    std::vector<Candidate> cands;
    for (size_t k = 0; k < top.size(); ++k) {
      TrialResult tr = fw->Measure(w, top[k].config, host, mo);
      if (tr.status == TrialStatus::kOk) cands.push_back({top[k].config, int(k) + 1, Median(tr.times_s)});
    }
    if (top.empty()) r.note = "no tuned record (run with --trials N)";
    std::string why, why_ours;
    {
      tune::DeviceLock lock(lock_path);
      const Choice choice = Choose(w, cands, o.repeats, mo.min_repeat_s, &why_ours);
      PeerKernel* ours = choice.kernel.get();
      if (choice.candidate) {
        r.config = Json::parse(choice.candidate->config.CanonicalJson());
        r.config_rank = choice.candidate->rank;
      }
      // Then it and the peers in alternating rounds; each side's time is its median over rounds,
      // each ratio the median of the per-round ratios.
      std::unique_ptr<PeerKernel> dnnl = MakeOneDnn(w, &why), blas = MakeOpenBlas(w, &why);
      if (choice.candidate && !ours) r.note = "not timed in rounds: " + why_ours;
      if (dnnl) r.dnnl_impl = dnnl->Impl();
      const auto t = TimeAlternating({ours, dnnl.get(), blas.get(), &peak_loop}, o.rounds, o.repeats, mo.min_repeat_s);
      r.ours_s = ours ? Median(t[0]) : choice.candidate ? choice.candidate->sandbox_s : 0;
      r.dnnl_s = Median(t[1]);
      r.blas_s = Median(t[2]);
      // Per-round ratios; without a kernel of ours in the rounds, the framework's re-measure
      // stands in for each round's time.
      auto ours_at = [&](size_t i) { return ours ? t[0][i] : r.ours_s; };
      auto ratio = [&](const std::vector<double>& peer) {
        std::vector<double> q;
        for (size_t i = 0; i < peer.size(); ++i) q.push_back(peer[i] / ours_at(i));
        return r.ours_s > 0 ? Median(q) : 0.0;
      };
      r.vs_dnnl = ratio(t[1]);
      r.vs_blas = ratio(t[2]);
      // Fractions of the peak timed in the same round.
      std::vector<double> round_peak, ours_frac, dnnl_frac;
      for (size_t i = 0; i < t[3].size(); ++i) {
        round_peak.push_back(peak_loop.Gflops(t[3][i]));
        if (r.ours_s > 0) ours_frac.push_back(Gflops(w, ours_at(i)) / round_peak.back());
        if (i < t[1].size()) dnnl_frac.push_back(Gflops(w, t[1][i]) / round_peak.back());
      }
      peaks.insert(peaks.end(), round_peak.begin(), round_peak.end());
      r.peak_gflops = Median(round_peak);
      r.ours_peak = Median(ours_frac);
      r.dnnl_peak = Median(dnnl_frac);
    }
    rows.push_back(r);
  }
  const double peak = Median(peaks);
  const double peak_lo = peaks.empty() ? 0 : *std::min_element(peaks.begin(), peaks.end());
  const double peak_hi = peaks.empty() ? 0 : *std::max_element(peaks.begin(), peaks.end());

  std::vector<double> vs_dnnl, vs_blas;
  int total_trials = 0;
  double total_tune = 0;
  for (const Row& r : rows) {
    if (r.vs_dnnl > 0) vs_dnnl.push_back(r.vs_dnnl);
    if (r.vs_blas > 0) vs_blas.push_back(r.vs_blas);
    total_trials += r.tuned_trials;
    total_tune += r.tune_s;
  }
  if (o.json) {
    Json j;
    j["format"] = "opal.bench.kernels/1";
    j["target"] = host.CanonicalString();
    j["peak_gflops"] = peak;  // median over every round of every workload
    j["peak_gflops_min"] = peak_lo;
    j["peak_gflops_max"] = peak_hi;
    j["trials_per_workload"] = o.trials;
    j["rounds"] = o.rounds;
    j["tuning_trials"] = total_trials;
    j["tuning_s"] = total_tune;
    j["cost_model"] = o.cost_model;
    j["geomean_vs_onednn"] = GeoMean(vs_dnnl);
    j["geomean_vs_openblas"] = GeoMean(vs_blas);
    j["workloads"] = Json::array();
    for (const Row& r : rows) {
      j["workloads"].push_back({{"name", r.e.name},
                                {"key", r.e.w.Key()},
                                {"workload", r.e.w.json()},
                                {"opal_s", r.ours_s},
                                {"opal_gflops", Gflops(r.e.w, r.ours_s)},
                                {"peak_gflops", r.peak_gflops},
                                {"opal_peak_fraction", r.ours_peak},
                                {"onednn_peak_fraction", r.dnnl_peak},
                                {"onednn_s", r.dnnl_s},
                                {"onednn_gflops", Gflops(r.e.w, r.dnnl_s)},
                                {"onednn_impl", r.dnnl_impl},
                                {"openblas_s", r.blas_s},
                                {"openblas_gflops", Gflops(r.e.w, r.blas_s)},
                                {"vs_onednn", r.vs_dnnl},
                                {"vs_openblas", r.vs_blas},
                                {"config", r.config},
                                {"config_rank", r.config_rank},
                                {"tuned_trials", r.tuned_trials},
                                {"tuning_s", r.tune_s},
                                {"note", r.note}});
    }
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  fmt::print(
      "target {}\nmeasured fp32 peak {:.1f} GFLOP/s ({} threads; median of {} rounds beside the kernels, "
      "range {:.1f}-{:.1f}); %peak is against the peak of the same round\n\n",
      host.CanonicalString(), peak, host.cores, peaks.size(), peak_lo, peak_hi);
  fmt::print("{:<16} {:<44} {:>8} {:>6} {:>8} {:>6} {:>8} {:>6}  {}\n", "name", "workload", "opal",
             "%peak", "oneDNN", "ratio", "OpenBLAS", "ratio", "oneDNN impl");
  for (const Row& r : rows) {
    double g = Gflops(r.e.w, r.ours_s);
    fmt::print("{:<16} {:<44} {:>8.1f} {:>5.0f}% {:>8.1f} {:>6.2f} {:>8.1f} {:>6.2f}  {}{}\n",
               r.e.name, r.e.w.Summary(), g, 100 * r.ours_peak, Gflops(r.e.w, r.dnnl_s),
               r.vs_dnnl, Gflops(r.e.w, r.blas_s), r.vs_blas, r.dnnl_impl,
               r.note.empty() ? "" : "  (" + r.note + ")");
  }
  fmt::print(
      "\ngeometric mean of opal/oneDNN speed: {:.3f} over {} workloads; opal/OpenBLAS: {:.3f}\n",
      GeoMean(vs_dnnl), vs_dnnl.size(), GeoMean(vs_blas));
  if (o.trials > 0) {
    fmt::print("tuning: {} trials in {:.0f} s (budget {} trials per workload, strategy {}{})\n", total_trials, total_tune,
               o.trials, o.strategy, guide ? ", guided by the cost model " + o.cost_model : std::string());
  }
  return Status::Ok();
}

}  // namespace
}  // namespace opal::bench

int main(int argc, char** argv) {
  opal::bench::Options o;
  CLI::App app{"bench_kernels: opal's tuned kernels vs oneDNN and OpenBLAS, measured in one run"};
  app.add_option("--suite", o.suite, "all (default), gemm or resnet50");
  app.add_option("--model", o.model, "ResNet-50 ONNX model for the conv suite");
  app.add_option("--store", o.store,
                 "Record store DSN (default: $OPAL_STORE or the user's SQLite store)");
  app.add_option("--filter", o.filter, "Only workloads whose name, key or summary contains this");
  app.add_option("--trials", o.trials,
                 "Tune each workload with this many trials first (default 0: use the store)");
  app.add_option("--time-budget", o.time_budget_s, "Tuning seconds per workload (0 = no limit)");
  app.add_option("--early-stop", o.early_stop,
                 "Stop tuning a workload after N trials without a new best");
  app.add_option("--strategy", o.strategy, "evolutionary (default) or random");
  app.add_option("--transfer", o.transfer,
                 "Tuning: first measure the best configs of the N nearest other workloads (0 = off)");
  app.add_option("--cost-model", o.cost_model,
                 "Cost model (a file, or @NAME in the store) that guides the tuning, as in opal tune");
  app.add_option("--retrain-every", o.retrain_every,
                 "Model-guided tuning: retrain the model after every N new trials of a workload");
  app.add_option("--repeats", o.repeats, "Timed repeats per kernel and round (median taken)");
  app.add_option("--rounds", o.rounds, "Alternating rounds of opal, oneDNN and OpenBLAS (medians reported)");
  app.add_flag("--json", o.json, "Print JSON (opal.bench.kernels/1)");
  CLI11_PARSE(app, argc, argv);
  opal::Status st = opal::bench::Run(o);
  if (!st.ok()) {
    std::fprintf(stderr, "bench_kernels: error: %s\n", st.message().c_str());
    return opal::ExitCodeFor(st.code());
  }
  return 0;
}
