// The built-in sample dataset (--sample_data): index "products" (50 documents: text, keyword,
// numeric, boolean and date fields) and index "logs" (100 log lines). Deterministic, so tests
// may rely on exact counts.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "tests/devcluster/cluster_state.h"

namespace esgw::devcluster {

inline constexpr int kSampleProductCount = 50;
inline constexpr int kSampleLogCount = 100;

// One index of the dataset: its creation body (mappings) and its documents, as (id, source).
struct SampleIndex {
  std::string name;
  std::string create_body;
  std::vector<std::pair<std::string, std::string>> docs;
};

// The dataset, the same on every call; also what test suites load into a real cluster.
std::vector<SampleIndex> SampleDataset();

// Loads the dataset over HTTP into the cluster at address ("host:port", plain http), refreshed,
// so suites run against a real Elasticsearch can count on the same documents. An index that
// already holds exactly the sample's document count is left alone; one holding anything else
// is an error naming it (it is never deleted or overwritten).
absl::Status LoadSampleDataOverHttp(const std::string& address);

// Creates and fills both indices. Errors from index creation (e.g. they already exist).
absl::Status LoadSampleData(ClusterState& state);

}  // namespace esgw::devcluster
