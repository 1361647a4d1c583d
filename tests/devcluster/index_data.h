// The stored form of indices and documents shared by the cluster state and the search executor.
// Plain values; ClusterState guards them with its lock.
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "tests/devcluster/json.h"
#include "tests/devcluster/mapping.h"

namespace esgw::devcluster {

struct Document {
  std::string id;
  std::string source;  // the bytes as indexed; returned verbatim as _source
  Json parsed;         // the same document, parsed, for queries
  int64_t version = 0;
  int64_t seq_no = 0;
  int64_t primary_term = 1;
  std::string routing;
  bool deleted = false;  // a tombstone keeps the version for the next write of this id
};

struct IndexData {
  std::string name;
  std::string uuid;
  int64_t creation_date_millis = 0;
  int number_of_replicas = 1;
  IndexMapping mapping;
  Json settings = Json::object();  // user-supplied index settings, echoed by GET /{index}
  absl::flat_hash_map<std::string, Document> docs;
  int64_t next_seq_no = 0;
  int64_t live_docs = 0;
};

}  // namespace esgw::devcluster
