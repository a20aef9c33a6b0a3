// Configs and schedule spaces: what a tuning framework searches over.
//
// A Config is one point of a template's schedule space: the template's name and an integer value
// for each knob. Configs are data: they are written to the store as canonical JSON and are
// validated against the space when read back (ConfigSpace::Parse); nothing read from a store is
// ever executed as code.
//
// A ConfigSpace is a product of knobs (each a finite list of allowed integer values) restricted by
// a validity predicate that excludes invalid or pointless combinations (a register tile that
// spills, a tile larger than the output, packing at a loop level that does not exist). Sampling,
// mutation and crossover only ever return valid configs. A ConfigSpace is immutable after
// construction and may be shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "opal/json.h"
#include "opal/status.h"

namespace opal {

struct Config {
  std::string template_name;
  std::map<std::string, int64_t> knobs;  // knob name -> value

  // {"knobs":{...},"template":"..."}: sorted keys, no whitespace. This is the text stored in
  // Record::config_json and compared by the search to skip configs already measured.
  std::string CanonicalJson() const;
  // Parses the JSON shape only (no space validation); kInvalidArgument when malformed.
  static Result<Config> FromJson(std::string_view text);
  // Value of a knob; a missing knob is a bug (configs are validated before use).
  int64_t Get(const std::string& knob) const;

  bool operator==(const Config& o) const = default;
  bool operator<(const Config& o) const;
};

struct Knob {
  std::string name;
  std::vector<int64_t> values;  // allowed values, in a meaningful order (small to large)
  std::string doc;              // one line: what the knob does
  // A knob added to a space after records were stored names the value that reproduces the old
  // behaviour: Parse fills it into stored configs that lack the knob, so they stay usable.
  std::optional<int64_t> absent_value = std::nullopt;
};

class ConfigSpace {
 public:
  using Validator = std::function<bool(const Config&)>;

  ConfigSpace() = default;
  // `valid` may be empty (every combination is valid).
  ConfigSpace(std::string template_name, std::vector<Knob> knobs, Validator valid);

  const std::string& template_name() const { return template_name_; }
  const std::vector<Knob>& knobs() const { return knobs_; }
  // Product of the knob sizes: an upper bound of the number of valid configs.
  double RawSize() const;

  // True when `c` names this template, has exactly these knobs with allowed values, and passes
  // the validity predicate.
  bool Contains(const Config& c) const;
  // Parses and validates a stored config (kInvalidArgument with the reason otherwise).
  Result<Config> Parse(std::string_view json) const;
  // `c`, a config of this template from any space (another workload's, say), moved into this
  // one: each knob takes the allowed value nearest to c's (the smaller on a tie); a knob c lacks
  // takes its absent_value, else its first value; knobs this space lacks are dropped. nullopt
  // when the template differs or the result fails the validity predicate.
  std::optional<Config> Project(const Config& c) const;

  // A uniformly drawn valid config (rejection sampling; nullopt if none found in `max_tries`).
  std::optional<Config> Sample(std::mt19937_64& rng, int max_tries = 10000) const;
  // `c` with 1..n_changes knobs moved to a neighbouring or random allowed value; valid.
  std::optional<Config> Mutate(const Config& c, std::mt19937_64& rng, int max_tries = 200) const;
  // Each knob taken from `a` or `b` at random; valid (nullopt when no valid child was found).
  std::optional<Config> Crossover(const Config& a, const Config& b, std::mt19937_64& rng,
                                  int max_tries = 50) const;

  // Knob names and allowed values, for docs and `opal tune --show-space`.
  Json ToJson() const;

 private:
  std::string template_name_;
  std::vector<Knob> knobs_;
  Validator valid_;
};

}  // namespace opal
