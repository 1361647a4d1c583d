// The built-in sample dataset (--sample_data): index "products" (50 documents: text, keyword,
// numeric, boolean and date fields) and index "logs" (100 log lines). Deterministic, so tests
// may rely on exact counts.
#pragma once

#include "absl/status/status.h"
#include "tests/devcluster/cluster_state.h"

namespace esgw::devcluster {

inline constexpr int kSampleProductCount = 50;
inline constexpr int kSampleLogCount = 100;

// Creates and fills both indices. Errors from index creation (e.g. they already exist).
absl::Status LoadSampleData(ClusterState& state);

}  // namespace esgw::devcluster
