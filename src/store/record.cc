#include "opal/record.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <nlohmann/detail/conversions/to_chars.hpp>

#include "opal/hash.h"

namespace opal {

namespace {

constexpr std::pair<TrialStatus, std::string_view> kStatusNames[] = {
    {TrialStatus::kOk, "ok"},           {TrialStatus::kBuildError, "build_error"},
    {TrialStatus::kRuntimeError, "runtime_error"}, {TrialStatus::kCrash, "crash"},
    {TrialStatus::kTimeout, "timeout"}, {TrialStatus::kMismatch, "mismatch"},
};

// Every field but uid, in a fixed JSON shape: the uid's preimage and the bulk of ToJson().
Json ContentJson(const Record& r) {
  Json times = Json::array();
  for (double t : r.times_s) times.push_back(t);
  return Json{
      {"workload_key", r.workload_key},
      {"workload", r.workload_json},
      {"op", r.op},
      {"target_key", r.target_key},
      {"target_coarse_key", r.target_coarse_key},
      {"target", r.target_string},
      {"framework", r.framework},
      {"framework_version", r.framework_version},
      {"config", r.config_json},
      {"status", std::string(TrialStatusName(r.status))},
      {"error", r.error},
      {"times_s", times},
      {"median_s", r.median_s},
      {"gflops", r.gflops},
      {"provenance",
       {{"opal_version", r.provenance.opal_version},
        {"compiler", r.provenance.compiler},
        {"halide_version", r.provenance.halide_version},
        {"llvm_version", r.provenance.llvm_version},
        {"host", r.provenance.host},
        {"worker_id", r.provenance.worker_id}}},
      {"timestamp_us", r.timestamp_us},
  };
}

// CanonicalJson(ContentJson(r)) written directly, without building the JSON tree: ComputeUid runs
// for every record put into a store and every line imported, and the tree was most of its cost.
// The bytes are the same (record_test.cc compares both on hostile and random records): keys in
// sorted order, strings escaped as nlohmann's dump() escapes them (non-ASCII text goes through
// dump() itself, which also rejects invalid UTF-8), doubles through the same shortest-digits
// conversion.
class ContentWriter {
 public:
  std::string Write(const Record& r) {
    out_.reserve(512 + r.workload_json.size() + r.config_json.size() + r.error.size());
    Key("config", '{').Str(r.config_json);
    Key("error").Str(r.error);
    Key("framework").Str(r.framework);
    Key("framework_version").Str(r.framework_version);
    Key("gflops").Num(r.gflops);
    Key("median_s").Num(r.median_s);
    Key("op").Str(r.op);
    Key("provenance");
    Key("compiler", '{').Str(r.provenance.compiler);
    Key("halide_version").Str(r.provenance.halide_version);
    Key("host").Str(r.provenance.host);
    Key("llvm_version").Str(r.provenance.llvm_version);
    Key("opal_version").Str(r.provenance.opal_version);
    Key("worker_id").Str(r.provenance.worker_id);
    out_ += '}';
    Key("status").Str(TrialStatusName(r.status));
    Key("target").Str(r.target_string);
    Key("target_coarse_key").Str(r.target_coarse_key);
    Key("target_key").Str(r.target_key);
    Key("times_s");
    out_ += '[';
    for (size_t i = 0; i < r.times_s.size(); ++i) {
      if (i) out_ += ',';
      Num(r.times_s[i]);
    }
    out_ += ']';
    Key("timestamp_us");
    out_ += std::to_string(r.timestamp_us);
    Key("workload").Str(r.workload_json);
    Key("workload_key").Str(r.workload_key);
    out_ += '}';
    return std::move(out_);
  }

 private:
  // ',"name":' (or '{"name":' opening an object).
  ContentWriter& Key(std::string_view name, char open = ',') {
    out_ += open;
    out_ += '"';
    out_ += name;
    out_ += "\":";
    return *this;
  }
  void Str(std::string_view s) {
    for (unsigned char c : s) {
      if (c >= 0x80) {  // leave UTF-8 (and its validation) to nlohmann
        out_ += CanonicalJson(Json(std::string(s)));
        return;
      }
    }
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }
  ContentWriter& Num(double x) {
    if (!std::isfinite(x)) {
      out_ += "null";
      return *this;
    }
    char buf[64];
    char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, x);
    out_.append(buf, static_cast<size_t>(end - buf));
    return *this;
  }
  std::string out_;
};

Status Field(const Json& j, const char* name, Json::value_t type, const Json** out) {
  auto it = j.find(name);
  if (it == j.end()) return Error(ErrorCode::kInvalidArgument, "record: missing field '{}'", name);
  const bool number_ok = type == Json::value_t::number_float && it->is_number();
  const bool int_ok = type == Json::value_t::number_integer && it->is_number_integer();
  if (it->type() != type && !number_ok && !int_ok) {
    return Error(ErrorCode::kInvalidArgument, "record: field '{}' has the wrong type ({})", name, it->type_name());
  }
  *out = &*it;
  return Status::Ok();
}

}  // namespace

std::string_view TrialStatusName(TrialStatus s) {
  for (const auto& [st, name] : kStatusNames)
    if (st == s) return name;
  return "unknown";
}

Result<TrialStatus> ParseTrialStatus(std::string_view name) {
  for (const auto& [st, n] : kStatusNames)
    if (n == name) return st;
  return Error(ErrorCode::kInvalidArgument, "unknown trial status '{}'", name);
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Record::Finalize(double flops) {
  if (status == TrialStatus::kOk && !times_s.empty()) {
    std::vector<double> t = times_s;
    std::sort(t.begin(), t.end());
    const size_t n = t.size();
    median_s = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    gflops = median_s > 0 ? flops / median_s / 1e9 : 0;
    if (!std::isfinite(gflops)) gflops = 0;  // absurd times must not make JSON null
  } else {
    median_s = 0;
    gflops = 0;
  }
  if (timestamp_us == 0) timestamp_us = NowMicros();
  uid = ComputeUid();
}

std::string Record::ComputeUid() const { return Sha256Hex(ContentWriter().Write(*this)); }

Json Record::ToJson() const {
  Json j = ContentJson(*this);
  j["format"] = "opal.record/1";
  j["uid"] = uid;
  return j;
}

Result<Record> Record::FromJson(const Json& j) {
  using VT = Json::value_t;
  if (!j.is_object()) return Error(ErrorCode::kInvalidArgument, "record: not a JSON object");
  if (auto f = j.find("format"); f != j.end() && *f != "opal.record/1") {
    return Error(ErrorCode::kUnsupported, "record: format {} is not opal.record/1", f->dump());
  }
  Record r;
  const Json* v = nullptr;
  auto str = [&](const char* name, std::string* out) -> Status {
    OPAL_RETURN_IF_ERROR(Field(j, name, VT::string, &v));
    *out = v->get<std::string>();
    return Status::Ok();
  };
  OPAL_RETURN_IF_ERROR(str("workload_key", &r.workload_key));
  OPAL_RETURN_IF_ERROR(str("workload", &r.workload_json));
  OPAL_RETURN_IF_ERROR(str("op", &r.op));
  OPAL_RETURN_IF_ERROR(str("target_key", &r.target_key));
  OPAL_RETURN_IF_ERROR(str("target_coarse_key", &r.target_coarse_key));
  OPAL_RETURN_IF_ERROR(str("target", &r.target_string));
  OPAL_RETURN_IF_ERROR(str("framework", &r.framework));
  OPAL_RETURN_IF_ERROR(str("framework_version", &r.framework_version));
  OPAL_RETURN_IF_ERROR(str("config", &r.config_json));
  std::string status;
  OPAL_RETURN_IF_ERROR(str("status", &status));
  OPAL_ASSIGN_OR_RETURN(r.status, ParseTrialStatus(status));
  OPAL_RETURN_IF_ERROR(str("error", &r.error));
  OPAL_RETURN_IF_ERROR(Field(j, "times_s", VT::array, &v));
  for (const auto& t : *v) {
    if (!t.is_number()) return Error(ErrorCode::kInvalidArgument, "record: times_s holds a non-number");
    r.times_s.push_back(t.get<double>());
  }
  OPAL_RETURN_IF_ERROR(Field(j, "median_s", VT::number_float, &v));
  r.median_s = v->get<double>();
  OPAL_RETURN_IF_ERROR(Field(j, "gflops", VT::number_float, &v));
  r.gflops = v->get<double>();
  OPAL_RETURN_IF_ERROR(Field(j, "timestamp_us", VT::number_integer, &v));
  r.timestamp_us = v->get<int64_t>();
  OPAL_RETURN_IF_ERROR(Field(j, "provenance", VT::object, &v));
  const Json& p = *v;
  for (auto [name, out] : {std::pair{"opal_version", &r.provenance.opal_version},
                           {"compiler", &r.provenance.compiler},
                           {"halide_version", &r.provenance.halide_version},
                           {"llvm_version", &r.provenance.llvm_version},
                           {"host", &r.provenance.host},
                           {"worker_id", &r.provenance.worker_id}}) {
    OPAL_RETURN_IF_ERROR(Field(p, name, VT::string, &v));
    *out = v->get<std::string>();
  }
  OPAL_RETURN_IF_ERROR(str("uid", &r.uid));
  if (r.uid != r.ComputeUid()) {
    return Error(ErrorCode::kInvalidArgument, "record {}: uid does not match its content (edited or corrupted)",
                 r.uid.substr(0, 16));
  }
  return r;
}

}  // namespace opal
