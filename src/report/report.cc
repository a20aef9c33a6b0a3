// CollectReport: the sections of the page, one collector each (collect.h).
#include "opal/report.h"

#include <filesystem>

#include "collect.h"
#include "opal/record_store.h"

namespace opal {

Result<Json> CollectReport(const ReportOptions& o) {
  if (o.store_dsn.empty())
    return Error(ErrorCode::kInvalidArgument, "--store DSN is required (the record store to report on)");
  if (o.store_dsn.rfind("sqlite:", 0) == 0 && !std::filesystem::exists(o.store_dsn.substr(7)))
    return Error(ErrorCode::kNotFound, "--store: no record store at '{}'; give an existing one",
                 o.store_dsn.substr(7));
  OPAL_ASSIGN_OR_RETURN(auto store, RecordStore::Open(o.store_dsn));
  Json j{{"format", "opal.report/1"}, {"store", store->Describe()}};
  OPAL_ASSIGN_OR_RETURN(j["records"], report::CollectStore(*store, o));
  OPAL_ASSIGN_OR_RETURN(j["cost_model"], report::CollectCostModel(*store, o));
  j["model"] = nullptr;
  if (!o.model_dir.empty()) {
    OPAL_ASSIGN_OR_RETURN(j["model"], report::CollectModel(o.model_dir, o.profile_runs));
  }
  j["plan"] = nullptr;
  if (!o.plan_file.empty()) {
    OPAL_ASSIGN_OR_RETURN(j["plan"], report::CollectPlan(o.plan_file));
  }
  return j;
}

}  // namespace opal
