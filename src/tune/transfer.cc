#include "opal/tuning_transfer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <tuple>


namespace opal {

double WorkloadDistance(const Workload& a, const Workload& b) {
  if (a.op() != b.op()) return std::numeric_limits<double>::infinity();
  double d = 0;
  for (const auto& [field, va] : a.json().items()) {
    if (field == "op") continue;
    const Json* vb = b.json().contains(field) ? &b.json().at(field) : nullptr;
    if (vb && va.is_number_integer() && vb->is_number_integer()) {
      const auto x = va.get<int64_t>(), y = vb->get<int64_t>();
      d += std::abs(std::log1p(static_cast<double>(x)) - std::log1p(static_cast<double>(y)));
    } else if (!vb || va != *vb) {
      d += 1;
    }
  }
  return d;
}

Result<std::vector<Config>> TransferConfigs(const TuningFramework& fw, RecordStore& store,
                                            const Workload& w, const Target& t, int n, bool coarse) {
  std::vector<Config> out;
  if (n <= 0) return out;
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw.Space(w, t));
  // The best record of every other workload of the op on this target and framework.
  std::map<std::string, Record> best;
  const std::string major = FrameworkMajorVersion(fw.Version());
  RecordFilter f;
  f.target_key = coarse ? "" : t.ExactKey();
  f.op = w.op();
  f.framework = fw.Name();
  f.ok_only = true;
  const std::string coarse_key = t.CoarseKey();
  OPAL_RETURN_IF_ERROR(store.Scan(f, [&](const Record& r) {
    if (r.workload_key == w.Key() || FrameworkMajorVersion(r.framework_version) != major) return true;
    if (coarse && r.target_coarse_key != coarse_key) return true;
    auto [it, added] = best.try_emplace(r.workload_key, r);
    if (!added && r.gflops > it->second.gflops) it->second = r;
    return true;
  }));
  // Nearest workload first.
  std::vector<std::tuple<double, std::string, const Record*>> near;
  for (const auto& [key, r] : best) {
    auto other = Json::parse(r.workload_json, nullptr, false);
    if (other.is_discarded()) continue;
    auto ow = Workload::FromJson(other);
    if (!ow.ok()) continue;
    near.emplace_back(WorkloadDistance(w, *ow), key, &r);
  }
  std::sort(near.begin(), near.end());
  std::set<std::string> seen;
  for (const auto& [d, key, r] : near) {
    if (static_cast<int>(out.size()) >= n) break;
    auto c = Config::FromJson(r->config_json);
    if (!c.ok()) continue;
    auto p = space.Project(*c);
    if (p && seen.insert(p->CanonicalJson()).second) out.push_back(std::move(*p));
  }
  return out;
}

namespace {

// Major versions compare as numbers when both are ("9" < "10"), else as text.
bool OlderMajor(const std::string& a, const std::string& b) {
  char* ea = nullptr;
  char* eb = nullptr;
  const long x = std::strtol(a.c_str(), &ea, 10), y = std::strtol(b.c_str(), &eb, 10);
  if (!a.empty() && !b.empty() && *ea == 0 && *eb == 0) return x < y;
  return a < b;
}

}  // namespace

Result<std::vector<Config>> OlderVersionConfigs(const TuningFramework& fw, RecordStore& store,
                                                const Workload& w, const Target& t, int n) {
  std::vector<Config> out;
  if (n <= 0) return out;
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw.Space(w, t));
  const std::string major = FrameworkMajorVersion(fw.Version()), coarse_key = t.CoarseKey();
  RecordFilter f;
  f.workload_key = w.Key();
  f.framework = fw.Name();
  f.ok_only = true;
  std::vector<std::pair<double, std::string>> old;  // (old median, config json)
  OPAL_RETURN_IF_ERROR(store.Scan(f, [&](const Record& r) {
    if (OlderMajor(FrameworkMajorVersion(r.framework_version), major) && r.target_coarse_key == coarse_key)
      old.emplace_back(r.median_s, r.config_json);
    return true;
  }));
  std::sort(old.begin(), old.end());
  std::set<std::string> seen;
  for (const auto& [median, json] : old) {
    if (static_cast<int>(out.size()) >= n) break;
    auto c = Config::FromJson(json);
    if (!c.ok()) continue;
    auto p = space.Project(*c);
    if (p && seen.insert(p->CanonicalJson()).second) out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace opal
