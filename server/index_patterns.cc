#include "server/index_patterns.h"

#include <vector>

namespace esgw {

bool PatternCovers(absl::string_view pattern, absl::string_view expression) {
  // Glob matching of pattern against expression, where a '*' in expression is a symbol only a
  // pattern '*' can absorb: then every string the expression stands for matches the pattern.
  // The classic two-pointer match with backtracking to the last pattern '*': linear space, at
  // worst |pattern| x |expression| steps (255 x 255 for index names).
  size_t p = 0, e = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (e < expression.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = e;
    } else if (p < pattern.size() && pattern[p] == expression[e] && expression[e] != '*') {
      ++p;
      ++e;
    } else if (star != absl::string_view::npos) {
      // Let the last pattern '*' absorb one more character (a '*' of the expression included).
      p = star + 1;
      e = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

bool Covered(absl::Span<const std::string> patterns, absl::string_view expression) {
  for (const std::string& pattern : patterns) {
    if (PatternCovers(pattern, expression)) return true;
  }
  return false;
}

}  // namespace

std::string FirstUncoveredTarget(absl::Span<const std::string> patterns,
                                 absl::Span<const absl::string_view> targets) {
  if (targets.empty()) return Covered(patterns, "*") ? "" : "_all";
  for (size_t i = 0; i < targets.size(); ++i) {
    const absl::string_view target = targets[i];
    if (i > 0 && !target.empty() && target[0] == '-') continue;
    const absl::string_view expression = target == "_all" ? "*" : target;
    if (!Covered(patterns, expression)) return target.empty() ? "\"\"" : std::string(target);
  }
  return "";
}

bool IndexAllowed(absl::Span<const std::string> patterns, absl::string_view index) {
  // A name with '*' in it is not concrete; covering it is the stronger test anyway.
  return Covered(patterns, index);
}

}  // namespace esgw
