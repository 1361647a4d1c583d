// The one in-memory cluster state every dev node serves: indices with their mappings and
// documents, versions and sequence numbers, index-expression resolution, writes (single and
// bulk, with optional injected bulk-item rejection) and reads. Writes are visible to the next
// search at once (no refresh interval).
// Thread-safe: a reader/writer lock guards the state; searches share it, writes take it alone.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/devcluster/es_error.h"
#include "tests/devcluster/index_data.h"
#include "tests/devcluster/json.h"
#include "tests/devcluster/search.h"

namespace esgw::devcluster {

// One index/create/update/delete operation, from the document APIs or a bulk line.
struct WriteOp {
  enum class Type { kIndex, kCreate, kUpdate, kDelete };
  Type type = Type::kIndex;
  std::string index;
  std::string id;  // empty for index/create: generated
  std::string routing;
  std::string source;  // index/create: the document; update: the update body
  std::optional<int64_t> if_seq_no;
  std::optional<int64_t> if_primary_term;
};

// The outcome of one write as Elasticsearch reports it.
struct WriteResult {
  int status = 200;
  std::string index;
  std::string id;
  Json body;                     // success body (also delete not_found and noop), no "status"
  std::optional<EsError> error;  // set on failure

  // The bulk item form: body plus "status", or {"_index","_id","status","error"}.
  Json ToBulkItem() const;
};

struct ResolveOptions {
  bool ignore_unavailable = false;
  bool allow_no_indices = true;
};

class ClusterState {
 public:
  // `replicas` per index (0 on a one-node cluster, so health stays green).
  explicit ClusterState(int replicas);

  // Creates an index from an optional body ({"settings":..., "mappings":...}). Errors (EsError
  // statuses): resource_already_exists_exception, invalid_index_name_exception,
  // mapper_parsing_exception, x_content_parse_exception.
  absl::StatusOr<Json> CreateIndex(const std::string& name, absl::string_view body);
  // Deletes every index the expression names. index_not_found_exception for a missing concrete
  // name.
  absl::Status DeleteIndices(const std::string& expression);
  bool IndexExists(const std::string& expression);
  // {"<index>": {"aliases":{}, "mappings":{...}, "settings":{...}}} for GET /{index};
  // mappings only for GET /{index}/_mapping.
  absl::StatusOr<Json> DescribeIndices(const std::string& expression, bool mappings_only);

  // Applies one write. `bulk_item` makes it subject to the injected rejection policy.
  WriteResult Write(const WriteOp& op, bool forced_refresh, bool bulk_item);
  // Applies a whole bulk under one lock, in order.
  std::vector<WriteResult> WriteBulk(const std::vector<WriteOp>& ops, bool forced_refresh);

  // GET /{index}/_doc/{id}: {200, found body}, {404, {"found":false} body}, or an EsError status
  // (index_not_found_exception).
  absl::StatusOr<std::pair<int, std::string>> Get(const std::string& index, const std::string& id,
                                                  const SourceFilter& source);

  absl::StatusOr<std::string> Search(const std::string& expression, const SearchRequest& request,
                                     const ResolveOptions& options, absl::string_view node_id,
                                     absl::Time start);
  // Returns {count, shards}.
  absl::StatusOr<std::pair<int64_t, int>> Count(const std::string& expression, const Query* query,
                                                const ResolveOptions& options);
  // Number of shards refreshed.
  absl::StatusOr<int> Refresh(const std::string& expression);

  struct Health {
    int indices = 0;
    int replicas = 0;
  };
  Health GetHealth();

  // Benchmarks: _bulk items are answered as created (version 1) and not stored, so that a
  // write benchmark measures the gateway rather than this server's storage.
  void SetDiscardWrites(bool discard) { discard_writes_ = discard; }

  // Control API.
  void SetBulkRejectEvery(int every);
  int bulk_reject_every() const { return bulk_reject_every_; }
  int64_t bulk_items_rejected() const { return bulk_items_rejected_; }
  void SetRejectingNodeName(std::string name);
  // {"index":..., "count":N, "docs":[{"_id","_version","_seq_no"}...]} sorted by id.
  absl::StatusOr<Json> DescribeDocs(const std::string& index);
  void Clear();

  // A 20-character URL-safe id like the ones Elasticsearch generates.
  std::string GenerateId();

 private:
  absl::StatusOr<std::vector<IndexData*>> ResolveLocked(const std::string& expression,
                                                        const ResolveOptions& options)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::StatusOr<IndexData*> GetOrCreateLocked(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<IndexData*> CreateLocked(const std::string& name, const Json* body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  WriteResult WriteLocked(const WriteOp& op, bool forced_refresh, bool bulk_item)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Json ShardsJson() const;
  std::string RandomBase64(int bytes);

  const int replicas_;
  std::atomic<int> bulk_reject_every_{0};
  std::atomic<bool> discard_writes_{false};
  std::atomic<int64_t> bulk_items_seen_{0};
  std::atomic<int64_t> bulk_items_rejected_{0};

  // Standard mutexes rather than absl::Mutex: Debian's prebuilt abseil is not TSan-instrumented.
  std::shared_mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<IndexData>> indices_ ABSL_GUARDED_BY(mu_);
  std::string rejecting_node_ ABSL_GUARDED_BY(mu_) = "devnode-0";

  std::mutex id_mu_;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(id_mu_);
  uint64_t id_counter_ ABSL_GUARDED_BY(id_mu_) = 0;
};

// Elasticsearch's index name rules; nullopt when `name` is valid, else the reason.
std::optional<EsError> ValidateIndexName(const std::string& name);

}  // namespace esgw::devcluster
