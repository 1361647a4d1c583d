// Which indices a principal's patterns allow: a pattern is an index name in which '*' stands for
// any run of characters ("logs-*", "products", "*"). A request names its targets the way
// Elasticsearch takes them: concrete names, wildcard expressions, "_all", and "-name" exclusions.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace esgw {

// True when every name the expression can match is matched by pattern, so that a principal
// holding pattern may use expression. For a concrete name this is glob matching; a wildcard in
// the expression must be met by a wildcard in the pattern ("logs-*" covers "logs-2024-*" and
// "logs-a", not "log*" or "*"): the expression's '*' is taken as a character that only a
// pattern '*' can match. That is sound: a yes is always right.
bool PatternCovers(absl::string_view pattern, absl::string_view expression);

// The first target that no pattern covers, or "" when all are covered. An empty target list and
// "_all" mean every index, which takes a pattern covering "*". Exclusions ("-name" after the
// first target) only narrow what is read and are not checked.
std::string FirstUncoveredTarget(absl::Span<const std::string> patterns,
                                 absl::Span<const absl::string_view> targets);

// Whether a concrete index name (a write, a Get, a reference in a query) is covered.
bool IndexAllowed(absl::Span<const std::string> patterns, absl::string_view index);

}  // namespace esgw
