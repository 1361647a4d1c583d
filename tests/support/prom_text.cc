#include "tests/support/prom_text.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace esgw::testing {
namespace {

bool IsNameStart(char c, bool colon_ok) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' || (colon_ok && c == ':');
}

bool IsName(absl::string_view s, bool colon_ok) {
  if (s.empty() || !IsNameStart(s[0], colon_ok)) return false;
  for (char c : s) {
    if (!IsNameStart(c, colon_ok) && !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool ParseValue(absl::string_view text, double* out) {
  if (text == "+Inf" || text == "Inf") {
    *out = INFINITY;
    return true;
  }
  if (text == "-Inf") {
    *out = -INFINITY;
    return true;
  }
  if (text == "NaN") {
    *out = NAN;
    return true;
  }
  const std::string s(text);
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(*out);
}

// The family a sample belongs to: histogram samples carry a suffix.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.contains(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (absl::EndsWith(name, suffix)) {
      std::string base = name.substr(0, name.size() - strlen(suffix));
      if (types.contains(base)) return base;
    }
  }
  return "";
}

bool Matches(const PromSample& sample, absl::string_view name,
             const std::map<std::string, std::string>& match) {
  if (sample.name != name) return false;
  for (const auto& [key, value] : match) {
    auto it = sample.labels.find(key);
    if (it == sample.labels.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace

double PromExposition::Sum(absl::string_view name,
                           const std::map<std::string, std::string>& match) const {
  double sum = 0;
  for (const PromSample& s : samples) {
    if (Matches(s, name, match)) sum += s.value;
  }
  return sum;
}

int PromExposition::Count(absl::string_view name,
                          const std::map<std::string, std::string>& match) const {
  int n = 0;
  for (const PromSample& s : samples) n += Matches(s, name, match) ? 1 : 0;
  return n;
}

absl::StatusOr<PromExposition> ParsePrometheusText(absl::string_view text) {
  PromExposition out;
  std::set<std::string> series;
  std::set<std::string> helped;
  int line_number = 0;
  if (!text.empty() && text.back() != '\n') {
    return absl::InvalidArgumentError("the exposition must end with a newline");
  }
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto bad = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": ", what, ": '", line, "'"));
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (parts.size() < 3 || (parts[1] != "HELP" && parts[1] != "TYPE")) continue;  // comment
      const std::string name(parts[2]);
      if (!IsName(name, true)) return bad("bad metric name");
      if (parts[1] == "HELP") {
        if (!helped.insert(name).second) return bad("second HELP for the family");
        continue;
      }
      if (parts.size() != 4) return bad("TYPE without a type");
      static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                   "untyped"};
      if (!kTypes.contains(std::string(parts[3]))) return bad("unknown type");
      if (!out.types.emplace(name, std::string(parts[3])).second) {
        return bad("second TYPE for the family");
      }
      continue;
    }
    PromSample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = std::string(line.substr(0, i));
    if (!IsName(sample.name, true)) return bad("bad metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t start = i;
        while (i < line.size() && line[i] != '=') ++i;
        const std::string key(line.substr(start, i - start));
        if (!IsName(key, false)) return bad("bad label name");
        if (i + 1 >= line.size() || line[i + 1] != '"') return bad("label value not quoted");
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            if (i + 1 >= line.size()) return bad("dangling escape");
            const char e = line[i + 1];
            if (e == 'n') {
              value += '\n';
            } else if (e == '\\' || e == '"') {
              value += e;
            } else {
              return bad("unknown escape in a label value");
            }
            i += 2;
          } else {
            value += line[i++];
          }
        }
        if (i >= line.size()) return bad("unterminated label value");
        ++i;  // closing quote
        if (!sample.labels.emplace(key, value).second) return bad("label given twice");
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || line[i] != ' ') return bad("no value");
    absl::string_view rest = line.substr(i + 1);
    std::vector<absl::string_view> fields = absl::StrSplit(rest, ' ');
    if (fields.empty() || fields.size() > 2) return bad("expected a value and an optional time");
    if (!ParseValue(fields[0], &sample.value) && fields[0] != "NaN") return bad("bad value");
    const std::string family = FamilyOf(sample.name, out.types);
    if (family.empty()) return bad("sample before its family's TYPE");
    std::string key = sample.name;
    for (const auto& [k, v] : sample.labels) absl::StrAppend(&key, "|", k, "=", v);
    if (!series.insert(key).second) return bad("series repeated");
    out.samples.push_back(std::move(sample));
  }

  // Histograms: per label set (without le), cumulative buckets ending in +Inf == _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> counts;
    for (const PromSample& s : out.samples) {
      std::map<std::string, std::string> labels = s.labels;
      std::string le;
      if (s.name == family + "_bucket") {
        auto it = labels.find("le");
        if (it == labels.end()) return absl::InvalidArgumentError(family + ": bucket without le");
        le = it->second;
        labels.erase(it);
      }
      std::string key;
      for (const auto& [k, v] : labels) absl::StrAppend(&key, k, "=", v, ",");
      if (s.name == family + "_bucket") {
        double bound = 0;
        if (!ParseValue(le, &bound)) {
          return absl::InvalidArgumentError(absl::StrCat(family, ": bad le '", le, "'"));
        }
        buckets[key].push_back({bound, s.value});
      } else if (s.name == family + "_count") {
        counts[key] = s.value;
      }
    }
    for (const auto& [key, list] : buckets) {
      for (size_t j = 1; j < list.size(); ++j) {
        if (list[j].first <= list[j - 1].first || list[j].second < list[j - 1].second) {
          return absl::InvalidArgumentError(
              absl::StrCat(family, "{", key, "}: buckets not increasing"));
        }
      }
      if (list.empty() || !std::isinf(list.back().first)) {
        return absl::InvalidArgumentError(absl::StrCat(family, "{", key, "}: no +Inf bucket"));
      }
      if (!counts.contains(key) || counts[key] != list.back().second) {
        return absl::InvalidArgumentError(
            absl::StrCat(family, "{", key, "}: +Inf bucket differs from _count"));
      }
    }
  }
  return out;
}

}  // namespace esgw::testing
