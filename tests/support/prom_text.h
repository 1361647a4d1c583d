// A strict reader of the Prometheus text exposition format (0.0.4), for tests that check what
// /metrics serves: every line must be a HELP or TYPE comment or a well-formed sample, a
// family's TYPE must come before its samples, no series may repeat, and each histogram's
// buckets must be cumulative with a +Inf bucket equal to its _count.
// Thread-compatible: values.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace esgw::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromExposition {
  // Family name -> type ("counter", "gauge", "histogram", "summary", "untyped").
  std::map<std::string, std::string> types;
  std::vector<PromSample> samples;

  // The sum of the samples named name whose labels include every pair in match; 0 when none.
  double Sum(absl::string_view name, const std::map<std::string, std::string>& match = {}) const;
  // How many samples named name match.
  int Count(absl::string_view name, const std::map<std::string, std::string>& match = {}) const;
};

// INVALID_ARGUMENT naming the line number and what is wrong.
absl::StatusOr<PromExposition> ParsePrometheusText(absl::string_view text);

}  // namespace esgw::testing
