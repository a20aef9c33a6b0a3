#include "opal/target.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "opal/hash.h"

namespace opal {
namespace {

const std::vector<std::string> kKinds = {"cpu", "cuda", "rocm"};
const std::vector<std::string> kKeys = {"arch", "cores", "features", "l1d", "l2", "l3", "mem", "model"};

std::string FormatBytes(int64_t b) {
  static const char* kSuffix[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (i < 4 && b != 0 && b % 1024 == 0) {
    b /= 1024;
    ++i;
  }
  return std::to_string(b) + kSuffix[i];
}

Result<int64_t> ParseBytes(std::string_view key, std::string_view v) {
  if (v.empty()) return Error(ErrorCode::kInvalidArgument, "target: '{}' has no value", key);
  int64_t mult = 1;
  char last = static_cast<char>(std::toupper(v.back()));
  if (last == 'K' || last == 'M' || last == 'G' || last == 'T') {
    mult = last == 'K' ? 1LL << 10 : last == 'M' ? 1LL << 20 : last == 'G' ? 1LL << 30 : 1LL << 40;
    v.remove_suffix(1);
  }
  if (v.empty() || v.size() > 12 || !std::all_of(v.begin(), v.end(), ::isdigit)) {
    return Error(ErrorCode::kInvalidArgument,
                 "target: '{}' must be a size like 48K, 1M or 80G", key);
  }
  return std::stoll(std::string(v)) * mult;
}

bool NeedsQuotes(const std::string& v) {
  return v.empty() || std::any_of(v.begin(), v.end(), [](unsigned char c) {
           return std::isspace(c) || c == '"' || c == '\'' || c == '=';
         });
}

// Splits "kind k=v k="v w" ..." into tokens, honouring single and double quotes.
Result<std::vector<std::string>> Tokenize(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    std::string tok;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
      char c = text[i];
      if (c == '"' || c == '\'') {
        size_t end = text.find(c, i + 1);
        if (end == std::string_view::npos) {
          return Error(ErrorCode::kInvalidArgument, "target: unterminated quote in '{}'", text);
        }
        tok.append(text.substr(i + 1, end - i - 1));
        i = end + 1;
      } else {
        tok.push_back(c);
        ++i;
      }
    }
    out.push_back(std::move(tok));
  }
  return out;
}

}  // namespace

bool Target::HasFeature(std::string_view f) const {
  return std::find(features.begin(), features.end(), f) != features.end();
}

int Target::VectorBits() const {
  if (kind != "cpu") return 0;
  if (HasFeature("avx512f")) return 512;
  if (HasFeature("avx")) return 256;
  if (HasFeature("sve") || HasFeature("neon") || HasFeature("sse2") || HasFeature("sse4_2")) return 128;
  return 0;
}

std::string Target::IsaFamily() const {
  if (kind != "cpu") return "";
  if (HasFeature("avx512f")) return "avx512";
  if (HasFeature("avx2") && HasFeature("fma")) return "avx2";
  if (HasFeature("sse4_2")) return "sse4";
  if (HasFeature("sve")) return "sve";
  if (HasFeature("neon")) return "neon";
  return "generic";
}

std::string Target::CanonicalString() const {
  std::map<std::string, std::string> kv;
  if (!arch.empty()) kv["arch"] = arch;
  if (cores > 0) kv["cores"] = std::to_string(cores);
  if (!features.empty()) {
    std::string f;
    for (const auto& x : features) f += (f.empty() ? "" : ",") + x;
    kv["features"] = f;
  }
  if (l1d_bytes > 0) kv["l1d"] = FormatBytes(l1d_bytes);
  if (l2_bytes > 0) kv["l2"] = FormatBytes(l2_bytes);
  if (l3_bytes > 0) kv["l3"] = FormatBytes(l3_bytes);
  if (memory_bytes > 0) kv["mem"] = FormatBytes(memory_bytes);
  if (!model.empty()) kv["model"] = model;
  std::string out = kind;
  for (const auto& [k, v] : kv) out += " " + k + "=" + (NeedsQuotes(v) ? "\"" + v + "\"" : v);
  return out;
}

std::string Target::CoarseKey() const {
  std::string key = kind + "-" + (arch.empty() ? "unknown" : arch);
  std::string fam = IsaFamily();
  if (!fam.empty()) key += "-" + fam;
  return key;
}

std::string Target::ExactKey() const {
  return CoarseKey() + "-" + Sha256Hex(CanonicalString()).substr(0, 12);
}

Json Target::ToJson() const {
  return Json{{"kind", kind},
              {"arch", arch},
              {"model", model},
              {"features", features},
              {"cores", cores},
              {"l1d_bytes", l1d_bytes},
              {"l2_bytes", l2_bytes},
              {"l3_bytes", l3_bytes},
              {"memory_bytes", memory_bytes},
              {"vector_bits", VectorBits()},
              {"isa_family", IsaFamily()},
              {"canonical", CanonicalString()},
              {"exact_key", ExactKey()},
              {"coarse_key", CoarseKey()}};
}

Result<Target> Target::Parse(std::string_view text) {
  OPAL_ASSIGN_OR_RETURN(auto tokens, Tokenize(text));
  if (tokens.empty()) return Error(ErrorCode::kInvalidArgument, "target: empty target string");
  if (tokens.size() == 1 && tokens[0] == "host") return DetectHost();
  Target t;
  t.kind = tokens[0];
  if (std::find(kKinds.begin(), kKinds.end(), t.kind) == kKinds.end()) {
    return Error(ErrorCode::kInvalidArgument,
                 "target: unknown kind '{}' (expected host, cpu, cuda or rocm first)", t.kind);
  }
  for (size_t i = 1; i < tokens.size(); ++i) {
    const std::string& tok = tokens[i];
    size_t eq = tok.find('=');
    if (eq == std::string::npos) {
      return Error(ErrorCode::kInvalidArgument, "target: expected key=value, got '{}'", tok);
    }
    std::string key = tok.substr(0, eq), val = tok.substr(eq + 1);
    if (key == "arch") {
      t.arch = val;
    } else if (key == "model") {
      t.model = val;
    } else if (key == "features") {
      t.features.clear();
      size_t s = 0;
      while (s <= val.size()) {
        size_t c = val.find(',', s);
        std::string f = val.substr(s, c == std::string::npos ? std::string::npos : c - s);
        if (!f.empty()) t.features.push_back(f);
        if (c == std::string::npos) break;
        s = c + 1;
      }
    } else if (key == "cores") {
      if (val.empty() || val.size() > 6 || !std::all_of(val.begin(), val.end(), ::isdigit) ||
          std::stoi(val) == 0) {
        return Error(ErrorCode::kInvalidArgument, "target: cores must be a positive integer, got '{}'", val);
      }
      t.cores = std::stoi(val);
    } else if (key == "l1d" || key == "l2" || key == "l3" || key == "mem") {
      OPAL_ASSIGN_OR_RETURN(int64_t b, ParseBytes(key, val));
      (key == "l1d" ? t.l1d_bytes : key == "l2" ? t.l2_bytes : key == "l3" ? t.l3_bytes : t.memory_bytes) = b;
    } else {
      std::string known;
      for (const auto& k : kKeys) known += (known.empty() ? "" : ", ") + k;
      return Error(ErrorCode::kInvalidArgument, "target: unknown key '{}' (known: {})", key, known);
    }
  }
  if (t.arch.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "target: '{}' needs arch=... (e.g. arch=x86_64 or arch=sm_90)", text);
  }
  std::sort(t.features.begin(), t.features.end());
  t.features.erase(std::unique(t.features.begin(), t.features.end()), t.features.end());
  return t;
}

}  // namespace opal
