// opal.Store and opal.CostModel: the record store (opal/record_store.h) and the cost model
// (opal/cost_model.h). Records cross into Python as their opal.record/1 JSON text.
#include <pybind11/stl.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "errors.h"
#include "opal/cost_model.h"
#include "opal/record_store.h"
#include "opal/target.h"
#include "opal/tuning_framework.h"
#include "opal/workload.h"

namespace py = pybind11;

namespace opal::python {
namespace {

Json ParseJson(const std::string& text, const char* what) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded())
    Raise(Error(ErrorCode::kInvalidArgument, "{}: not valid JSON: {}", what, text.substr(0, 200)));
  return j;
}

RecordFilter MakeFilter(const py::dict& f) {
  RecordFilter r;
  r.workload_key = f["workload"].cast<std::string>();
  r.target_key = f["target"].cast<std::string>();
  r.op = f["op"].cast<std::string>();
  r.framework = f["framework"].cast<std::string>();
  r.framework_version = f["framework_version"].cast<std::string>();
  r.ok_only = f["ok_only"].cast<bool>();
  return r;
}

class Store {
 public:
  explicit Store(const std::string& dsn)
      : store_(Unwrap(RecordStore::Open(dsn.empty() ? RecordStore::DefaultDsn() : dsn))) {}

  std::string Describe() const { return store_->Describe(); }
  int SchemaVersion() { return Unwrap(store_->SchemaVersion()); }

  py::list Summary() {
    py::list rows;
    for (const StoreSummaryRow& r : Unwrap(store_->Summarize())) {
      py::dict d;
      d["target"] = r.target_key;
      d["op"] = r.op;
      d["records"] = r.records;
      d["ok_records"] = r.ok_records;
      d["workloads"] = r.workloads;
      d["best_gflops"] = r.best_gflops;
      rows.append(d);
    }
    return rows;
  }

  std::vector<std::string> TopK(const std::string& workload, const std::string& target, int k,
                                bool coarse) {
    std::string key = workload;
    if (!key.empty() && key.front() == '{')
      key = Unwrap(Workload::FromJson(ParseJson(workload, "workload"))).Key();
    TopKQuery q;
    q.workload_key = key;
    // A target string (or "" / "host") or a target key as Summary shows it.
    if (!target.empty() && target != "host" && target.find_first_of("= ") == std::string::npos) {
      q.target_key = target;
      q.target_coarse_key = target.substr(0, target.rfind('-'));
    } else {
      const Target t = target.empty() || target == "host" ? Target::DetectHost()
                                                          : Unwrap(Target::Parse(target));
      q.target_key = t.ExactKey();
      q.target_coarse_key = t.CoarseKey();
    }
    q.k = k;
    q.coarse_fallback = coarse;
    std::vector<std::string> out;
    for (const Record& r : Unwrap(store_->TopK(q))) out.push_back(r.ToJson().dump());
    return out;
  }

  std::vector<std::string> Scan(const py::dict& filter, int64_t limit) {
    std::vector<std::string> out;
    Status st = store_->Scan(MakeFilter(filter), [&](const Record& r) {
      out.push_back(r.ToJson().dump());
      return limit <= 0 || static_cast<int64_t>(out.size()) < limit;
    });
    Check(st);
    return out;
  }

  int64_t Count(const py::dict& filter) { return Unwrap(store_->Count(MakeFilter(filter))); }

  // JSON lines (opal.record/1, canonical), as `opal db export`. Returns how many were written.
  int64_t Export(const std::string& path, const py::dict& filter) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) Raise(Error(ErrorCode::kIo, "cannot write {}", path));
    int64_t n = 0;
    Check(store_->Scan(MakeFilter(filter), [&](const Record& r) {
      out << CanonicalJson(r.ToJson()) << '\n';
      ++n;
      return static_cast<bool>(out);
    }));
    out.flush();
    if (!out) Raise(Error(ErrorCode::kIo, "writing {} failed (disk full?)", path));
    return n;
  }

  // Lines of JSON-lines files, as `opal db import`: every line is validated first (a bad one
  // imports nothing: "ORIGIN:LINE: why"), then added. Returns (records read, new records).
  std::pair<int64_t, int64_t> Import(const std::vector<std::string>& lines,
                                     const std::string& origin) {
    std::vector<Record> records;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].empty()) continue;
      Json j = Json::parse(lines[i], nullptr, false);
      if (j.is_discarded())
        Raise(Error(ErrorCode::kInvalidArgument, "{}:{}: not valid JSON", origin, i + 1));
      auto r = Record::FromJson(j);
      if (!r.ok()) Raise(r.status().WithContext(origin + ":" + std::to_string(i + 1)));
      records.push_back(std::move(*r));
    }
    const int64_t added = records.empty() ? 0 : Unwrap(store_->Put(records));
    return {static_cast<int64_t>(records.size()), added};
  }

 private:
  std::unique_ptr<RecordStore> store_;
};

class PyCostModel {
 public:
  PyCostModel(const std::string& spec, const std::string& store_dsn)
      : model_(Unwrap(LoadCostModel(spec, store_dsn.empty() ? RecordStore::DefaultDsn() : store_dsn))),
        framework_(Unwrap(MakeTuningFramework(model_.info().framework))) {}

  std::string InfoJson() const {
    const CostModelInfo& i = model_.info();
    Json j{{"framework", i.framework},
           {"framework_version", i.framework_version},
           {"feature_version", i.feature_version},
           {"feature_names", i.feature_names},
           {"rows", i.rows},
           {"groups", i.groups},
           {"targets", i.targets},
           {"objective", i.objective},
           {"params", i.params},
           {"validation", i.validation}};
    return j.dump();
  }

  // Scores of configs of one workload on a target (higher = faster; relative within the
  // workload). `target`: a target string, "" or "host".
  std::vector<double> Scores(const std::string& workload_json,
                             const std::vector<std::string>& configs, const std::string& target) {
    const Workload w = Unwrap(Workload::FromJson(ParseJson(workload_json, "workload")));
    const Target t =
        target.empty() || target == "host" ? Target::DetectHost() : Unwrap(Target::Parse(target));
    std::vector<std::vector<double>> rows;
    for (const std::string& c : configs) {
      const Config config = Unwrap(Config::FromJson(c));
      rows.push_back(framework_->Features(w, config, t));
    }
    const std::string version =
        FeatureVersion(framework_->Name(), framework_->Version(), framework_->FeatureNames());
    return Unwrap(model_.Predict(rows, version));
  }

 private:
  CostModel model_;
  std::unique_ptr<TuningFramework> framework_;
};

}  // namespace

void BindStore(py::module_& m) {
  py::class_<Store>(m, "Store", "The record store (internal; use opal.Store).")
      .def(py::init<const std::string&>(), py::arg("dsn") = "")
      .def_property_readonly("description", &Store::Describe)
      .def("schema_version", &Store::SchemaVersion)
      .def("summary", &Store::Summary)
      .def("top_k", &Store::TopK, py::arg("workload"), py::arg("target"), py::arg("k"),
           py::arg("coarse"))
      .def("scan", &Store::Scan, py::arg("filter"), py::arg("limit") = 0)
      .def("count", &Store::Count, py::arg("filter"))
      .def("export", &Store::Export, py::arg("path"), py::arg("filter"))
      .def("import_lines", &Store::Import, py::arg("lines"), py::arg("origin"));
  py::class_<PyCostModel>(m, "CostModel", "A trained cost model (internal; use opal.CostModel).")
      .def(py::init<const std::string&, const std::string&>(), py::arg("spec"),
           py::arg("store") = "")
      .def("info_json", &PyCostModel::InfoJson)
      .def("scores", &PyCostModel::Scores, py::arg("workload"), py::arg("configs"),
           py::arg("target") = "");
}

}  // namespace opal::python
