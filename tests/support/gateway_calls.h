// Calls through a running esgw-server and checks of what the dev cluster stored, shared by the
// e2e suites: one Ingest stream run to its end, the documents an index holds, pool stats and
// health. For tests; each function is safe to call from any thread (the stubs are gRPC's).
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/dev_cluster.h"

namespace esgw::testing {

// The three services of one esgw-server, on one channel.
struct GatewayStubs {
  explicit GatewayStubs(const std::shared_ptr<grpc::Channel>& channel);
  std::unique_ptr<v1::Gateway::Stub> gateway;
  std::unique_ptr<v1::Admin::Stub> admin;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
};

// id -> _version of every document `index` holds on the dev cluster (GET /docs/{index}); empty
// when the index does not exist. An error when the control API cannot be read or its answer
// does not parse.
absl::StatusOr<std::map<std::string, int64_t>> StoredDocs(DevCluster& cluster,
                                                          const std::string& index);

// StoredDocs, adding a test failure (and answering empty) when it cannot be read.
std::map<std::string, int64_t> StoredDocsOrFail(DevCluster& cluster, const std::string& index);

// What one Ingest stream gave back.
struct IngestOutcome {
  std::map<uint64_t, v1::BulkItemResult> results = {};  // by seq
  int duplicates = 0;                                   // results for a seq already reported
  int summaries = 0;
  int results_after_summary = 0;
  v1::IngestSummary summary = {};
  grpc::Status status = {};

  // Takes one response message in.
  void Take(const v1::IngestResponse& response);
};

// Runs one Ingest stream: writes `messages` from a thread of its own while reading here,
// half-closes after the last and reads until the stream ends (deadline `timeout`).
// before_message, when set, runs on the writing thread before message i is written.
IngestOutcome RunIngest(v1::Gateway::Stub& gateway, const std::vector<v1::IngestRequest>& messages,
                        absl::Duration timeout = absl::Seconds(60),
                        const std::function<void(size_t)>& before_message = nullptr);

// `count` index ops with ids <id_prefix>00000.. and seq = first_seq + i, in messages of
// `per_message` ops; the first message names `index`. Sources are {"n":i,"pad":"x..."} with
// `source_bytes` of padding.
std::vector<v1::IngestRequest> IngestMessages(const std::string& index, int count, int per_message,
                                              size_t source_bytes = 0,
                                              const std::string& id_prefix = "d-",
                                              uint64_t first_seq = 1000);

// GetPoolStats with a 10 s deadline.
absl::StatusOr<v1::PoolStats> PoolStatsOf(v1::Admin::Stub& admin);

// The node dialled at `address` in stats; a default NodeStats (address "") when the pool does
// not hold it.
v1::NodeStats NodeAt(const v1::PoolStats& stats, const std::string& address);

// grpc.health.v1.Health/Check of `service` with a 5 s deadline.
absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> HealthOf(
    grpc::health::v1::Health::Stub& health, const std::string& service = "esgw.v1.Gateway");

}  // namespace esgw::testing
