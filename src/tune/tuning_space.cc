#include "opal/tuning_space.h"

#include <fmt/format.h>

#include <algorithm>

namespace opal {

std::string Config::CanonicalJson() const {
  Json j;
  j["template"] = template_name;
  j["knobs"] = Json::object();
  for (const auto& [k, v] : knobs) j["knobs"][k] = v;
  return opal::CanonicalJson(j);
}

Result<Config> Config::FromJson(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Error(ErrorCode::kInvalidArgument, "config is not a JSON object");
  if (!j.contains("template") || !j["template"].is_string()) {
    return Error(ErrorCode::kInvalidArgument, "config: missing string field 'template'");
  }
  if (!j.contains("knobs") || !j["knobs"].is_object()) {
    return Error(ErrorCode::kInvalidArgument, "config: missing object field 'knobs'");
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "template" && k != "knobs")
      return Error(ErrorCode::kInvalidArgument, "config: unknown field '{}'", k);
  }
  Config c;
  c.template_name = j["template"].get<std::string>();
  for (const auto& [k, v] : j["knobs"].items()) {
    if (!v.is_number_integer())
      return Error(ErrorCode::kInvalidArgument, "config: knob '{}' must be an integer", k);
    c.knobs[k] = v.get<int64_t>();
  }
  return c;
}

int64_t Config::Get(const std::string& knob) const {
  auto it = knobs.find(knob);
  OPAL_CHECK(it != knobs.end(), "config {} has no knob '{}'", CanonicalJson(), knob);
  return it->second;
}

bool Config::operator<(const Config& o) const {
  return std::tie(template_name, knobs) < std::tie(o.template_name, o.knobs);
}

ConfigSpace::ConfigSpace(std::string template_name, std::vector<Knob> knobs, Validator valid)
    : template_name_(std::move(template_name)),
      knobs_(std::move(knobs)),
      valid_(std::move(valid)) {}

double ConfigSpace::RawSize() const {
  double n = 1;
  for (const Knob& k : knobs_) n *= static_cast<double>(k.values.size());
  return n;
}

bool ConfigSpace::Contains(const Config& c) const {
  if (c.template_name != template_name_ || c.knobs.size() != knobs_.size()) return false;
  for (const Knob& k : knobs_) {
    auto it = c.knobs.find(k.name);
    if (it == c.knobs.end()) return false;
    if (std::find(k.values.begin(), k.values.end(), it->second) == k.values.end()) return false;
  }
  return !valid_ || valid_(c);
}

Result<Config> ConfigSpace::Parse(std::string_view json) const {
  OPAL_ASSIGN_OR_RETURN(Config c, Config::FromJson(json));
  for (const Knob& k : knobs_)
    if (k.absent_value && !c.knobs.count(k.name)) c.knobs[k.name] = *k.absent_value;
  if (c.template_name != template_name_) {
    return Error(ErrorCode::kInvalidArgument, "config names template '{}', the space is '{}'",
                 c.template_name, template_name_);
  }
  for (const Knob& k : knobs_) {
    auto it = c.knobs.find(k.name);
    if (it == c.knobs.end())
      return Error(ErrorCode::kInvalidArgument, "config: missing knob '{}'", k.name);
    if (std::find(k.values.begin(), k.values.end(), it->second) == k.values.end()) {
      return Error(ErrorCode::kInvalidArgument, "config: knob '{}' = {} is not an allowed value",
                   k.name, it->second);
    }
  }
  if (c.knobs.size() != knobs_.size())
    return Error(ErrorCode::kInvalidArgument, "config: unknown knobs");
  if (valid_ && !valid_(c)) {
    return Error(ErrorCode::kInvalidArgument, "config {} is excluded by the space's constraints",
                 c.CanonicalJson());
  }
  return c;
}

std::optional<Config> ConfigSpace::Project(const Config& c) const {
  if (c.template_name != template_name_) return std::nullopt;
  Config p;
  p.template_name = template_name_;
  for (const Knob& k : knobs_) {
    if (k.values.empty()) return std::nullopt;
    auto it = c.knobs.find(k.name);
    if (it == c.knobs.end()) {
      p.knobs[k.name] = k.absent_value.value_or(k.values.front());
      continue;
    }
    const int64_t want = it->second;
    const auto dist = [want](int64_t x) { return x > want ? x - want : want - x; };
    int64_t best = k.values.front();
    for (int64_t v : k.values)
      if (dist(v) < dist(best) || (dist(v) == dist(best) && v < best)) best = v;
    p.knobs[k.name] = best;
  }
  if (valid_ && !valid_(p)) return std::nullopt;
  return p;
}

std::optional<Config> ConfigSpace::Sample(std::mt19937_64& rng, int max_tries) const {
  for (int t = 0; t < max_tries; ++t) {
    Config c;
    c.template_name = template_name_;
    for (const Knob& k : knobs_) {
      std::uniform_int_distribution<size_t> d(0, k.values.size() - 1);
      c.knobs[k.name] = k.values[d(rng)];
    }
    if (!valid_ || valid_(c)) return c;
  }
  return std::nullopt;
}

std::optional<Config> ConfigSpace::Mutate(const Config& c, std::mt19937_64& rng,
                                          int max_tries) const {
  if (knobs_.empty()) return std::nullopt;
  std::uniform_int_distribution<size_t> pick(0, knobs_.size() - 1);
  std::uniform_real_distribution<double> coin(0, 1);
  for (int t = 0; t < max_tries; ++t) {
    Config m = c;
    int changes = 1 + (coin(rng) < 0.3 ? 1 : 0) + (coin(rng) < 0.1 ? 1 : 0);
    for (int i = 0; i < changes; ++i) {
      const Knob& k = knobs_[pick(rng)];
      if (k.values.size() < 2) continue;
      auto pos = std::find(k.values.begin(), k.values.end(), m.knobs[k.name]) - k.values.begin();
      size_t next;
      if (coin(rng) < 0.7 && pos < static_cast<long>(k.values.size())) {
        // Neighbouring value: small steps keep most of what made the parent good.
        long step = coin(rng) < 0.5 ? -1 : 1;
        long p = std::clamp<long>(pos + step, 0, static_cast<long>(k.values.size()) - 1);
        if (p == pos) p = pos - step;
        next = static_cast<size_t>(p);
      } else {
        next = std::uniform_int_distribution<size_t>(0, k.values.size() - 1)(rng);
      }
      m.knobs[k.name] = k.values[next];
    }
    if (m != c && (!valid_ || valid_(m))) return m;
  }
  return std::nullopt;
}

std::optional<Config> ConfigSpace::Crossover(const Config& a, const Config& b, std::mt19937_64& rng,
                                             int max_tries) const {
  std::bernoulli_distribution coin(0.5);
  for (int t = 0; t < max_tries; ++t) {
    Config c;
    c.template_name = template_name_;
    for (const Knob& k : knobs_) c.knobs[k.name] = (coin(rng) ? a : b).knobs.at(k.name);
    if (!valid_ || valid_(c)) return c;
  }
  return std::nullopt;
}

Json ConfigSpace::ToJson() const {
  Json j;
  j["template"] = template_name_;
  j["raw_size"] = RawSize();
  j["knobs"] = Json::array();
  for (const Knob& k : knobs_)
    j["knobs"].push_back({{"name", k.name}, {"values", k.values}, {"doc", k.doc}});
  return j;
}

}  // namespace opal
