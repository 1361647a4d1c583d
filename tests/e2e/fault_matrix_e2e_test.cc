// The fault matrix: every fault esgw-devcluster can inject, against the RPCs it matters for.
// Each row is one fault. For Search, Bulk and Ingest a fresh esgw-server meets the fault cold and
// runs a fixed workload; Bulk and Ingest then check the dev cluster's documents against what was
// reported (an op reported written is stored, an op reported not applied is not, nothing else
// is). GetPoolStats and health are asked while the fault holds, after the Search workload, and
// must answer and show the fault's effect. Each cell states its expected outcome (no failures,
// failures bounded to N with named codes, or the exact code) and is asserted. The suite prints
// the matrix with what it observed and writes it to fault_matrix.md in the working directory
// (tests/README.md keeps a copy).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/gateway_calls.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using grpc::health::v1::HealthCheckResponse;
using testing::DevCluster;
using testing::WaitFor;

// Search calls, Bulk calls x ops and Ingest ops of each workload.
constexpr int kSearches = 24;
constexpr int kBulkCalls = 6;
constexpr int kOpsPerBulk = 20;
constexpr int kIngestOps = 300;
constexpr int kIngestOpsPerMessage = 25;
// Client deadlines. A call that meets a hung node waits this long before it fails.
constexpr absl::Duration kSearchDeadline = absl::Seconds(2);
constexpr absl::Duration kBulkDeadline = absl::Seconds(4);
// Every esgw-server of the suite. Round robin sends every third first attempt to each node, so
// the faulted node is certainly tried (least_loaded, the default, may steer a sequential
// workload away from it altogether, which would leave the row proving nothing). Ejected nodes
// stay out for the rest of a run, so that the pool seen after the workload shows what the fault
// did; an Ingest batch that meets a hung node gives up after 2 s; item retries are quick.
const std::vector<std::string> kServerFlags = {
    "--selector=round_robin", "--dead_timeout=60s",          "--max_dead_timeout=60s",
    "--request_timeout=2s",   "--bulk_max_ops=50",           "--bulk_retry_initial=10ms",
    "--bulk_retry_max=100ms", "--ingest_flush_interval=20ms"};

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// What a workload may show: at most max_failed calls (Search) or ops (Bulk, Ingest) failed, each
// with one of `reasons` (a gRPC code name, or a bulk item's error type).
struct Bound {
  int max_failed = 0;
  std::set<std::string> reasons = {};
  // Every call or op fails with exactly `reason`.
  bool all_fail = false;

  static Bound None() { return {}; }
  static Bound AtMost(int n, std::set<std::string> why) { return {n, std::move(why), false}; }
  static Bound All(std::set<std::string> why) { return {0, std::move(why), true}; }

  std::string Describe() const {
    if (all_fail) return absl::StrCat("all fail (", absl::StrJoin(reasons, "/"), "), none stored");
    if (max_failed == 0) return "no failures";
    return absl::StrCat("<= ", max_failed, " ", absl::StrJoin(reasons, "/"));
  }
};

// What one workload did.
struct Observed {
  int total = 0;
  int failed = 0;
  std::map<std::string, int> reasons = {};
  // Storage against reports (Bulk, Ingest); empty when they agree.
  std::vector<std::string> storage_errors = {};
  int unknown_stored = 0;  // ops reported "outcome unknown" that were stored

  void Fail(const std::string& reason, int count = 1) {
    failed += count;
    reasons[reason] += count;
  }
  std::string Describe() const {
    std::string text = absl::StrCat(failed, "/", total, " failed");
    if (!reasons.empty()) {
      absl::StrAppend(&text, " (",
                      absl::StrJoin(reasons, ", ",
                                    [](std::string* out, const auto& entry) {
                                      absl::StrAppend(out, entry.first, " ", entry.second);
                                    }),
                      ")");
    }
    return text;
  }
  // Empty when the bound holds; otherwise why not.
  std::string Check(const Bound& bound) const {
    std::vector<std::string> problems = storage_errors;
    if (bound.all_fail) {
      if (failed != total) problems.push_back("expected every one to fail");
      if (unknown_stored != 0) problems.push_back("expected nothing stored");
    } else if (failed > bound.max_failed) {
      problems.push_back("more failures than the bound");
    }
    for (const auto& [reason, count] : reasons) {
      if (!bound.reasons.count(reason)) problems.push_back("unexpected failure " + reason);
    }
    return absl::StrJoin(problems, "; ");
  }
};

// A row of the matrix.
struct FaultCase {
  std::string name;
  DevCluster::Options cluster = {.nodes = 3, .sample_data = true};
  std::vector<std::string> server_flags = {};
  // Seeds esgw with the first node only (the others are found by sniffing).
  bool seed_first_node_only = false;
  // Injects the fault once esgw serves. May be empty.
  std::function<absl::Status(DevCluster&)> inject = nullptr;
  // Runs before call i of the Search and Bulk workloads and before each Ingest message, while the
  // fault holds (for faults that act on the connections esgw keeps, or that change over time).
  std::function<void(DevCluster&, testing::GatewayStubs&, int)> before_call = nullptr;
  Bound search = {};
  Bound bulk = {};
  Bound ingest = {};
  // What GetPoolStats must show after the Search workload; returns why not, or "".
  std::string pool_expectation = "";
  std::function<std::string(const v1::PoolStats&, const DevCluster&)> pool_check = nullptr;
  HealthCheckResponse::ServingStatus health = HealthCheckResponse::SERVING;
};

// One cell of the printed matrix.
struct Cell {
  std::string expected = "";
  std::string observed = "";
  bool ok = false;
};
struct Row {
  std::string fault = "";
  std::vector<Cell> cells = {};  // Search, Bulk, Ingest, GetPoolStats, health
};

std::string StateName(v1::NodeState state) {
  switch (state) {
    case v1::NODE_STATE_ALIVE:
      return "ALIVE";
    case v1::NODE_STATE_DEAD:
      return "DEAD";
    case v1::NODE_STATE_PROBING:
      return "PROBING";
    default:
      return "UNSPECIFIED";
  }
}

// "127.0.0.1:1234 ALIVE, ..." of every node in the pool.
std::string DescribePool(const v1::PoolStats& stats) {
  std::vector<std::string> nodes;
  for (const v1::NodeStats& node : stats.nodes()) {
    nodes.push_back(absl::StrCat(node.address(), " ", StateName(node.state()), " (",
                                 node.requests_total(), " requests, ", node.failures_total(),
                                 " failures, ", node.consecutive_failures(), " in a row)"));
  }
  return absl::StrJoin(nodes, ", ");
}

// Pool checks: the state of the node at dev cluster index `node`.
std::function<std::string(const v1::PoolStats&, const DevCluster&)> NodeIs(int node,
                                                                           v1::NodeState state) {
  return [node, state](const v1::PoolStats& stats, const DevCluster& cluster) -> std::string {
    const v1::NodeStats found = testing::NodeAt(stats, cluster.node_addresses()[node]);
    if (found.address().empty()) return absl::StrCat("node ", node, " is not in the pool");
    if (found.state() != state) {
      return absl::StrCat("node ", node, " is ", StateName(found.state()));
    }
    return "";
  };
}
// Every node in the pool is ALIVE and none was blamed for anything.
std::string NoNodeBlamed(const v1::PoolStats& stats, const DevCluster&) {
  std::vector<std::string> problems;
  for (const v1::NodeStats& node : stats.nodes()) {
    if (node.state() != v1::NODE_STATE_ALIVE || node.failures_total() != 0) {
      problems.push_back(absl::StrCat(node.address(), " ", StateName(node.state()), " with ",
                                      node.failures_total(), " failures"));
    }
  }
  return absl::StrJoin(problems, "; ");
}

class FaultMatrixE2eTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    if (rows_.empty()) return;
    std::string table =
        "| fault | Search | Bulk | Ingest | GetPoolStats | health |\n"
        "|---|---|---|---|---|---|\n";
    for (const Row& row : rows_) {
      absl::StrAppend(&table, "| ", row.fault, " |");
      for (const Cell& cell : row.cells) {
        absl::StrAppend(&table, " ", cell.expected, ": ", cell.observed, " ",
                        cell.ok ? "(pass)" : "(FAIL)", " |");
      }
      absl::StrAppend(&table, "\n");
    }
    std::printf("\n%s\n", table.c_str());
    std::ofstream("fault_matrix.md") << table;
  }

  void SetUp() override {
    if (!testing::ExternalEsUrl().empty()) {
      GTEST_SKIP() << "every row injects a fault, which needs esgw-devcluster; "
                      "ESGW_TEST_ES_URL is set";
    }
  }

  // Runs one row: three fresh esgw-servers in front of one dev cluster, one per data-plane RPC.
  void RunRow(const FaultCase& fault) {
    auto cluster = DevCluster::Start(fault.cluster);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    Row row{.fault = fault.name, .cells = {}};

    Observed search = Run(fault, [&](testing::GatewayStubs& stubs, Observed* observed) {
      SearchWorkload(fault, stubs, observed);
      PoolAndHealth(fault, stubs, &row);
    });
    Observed bulk = Run(fault, [&](testing::GatewayStubs& stubs, Observed* observed) {
      BulkWorkload(fault, stubs, observed);
    });
    Observed ingest = Run(fault, [&](testing::GatewayStubs& stubs, Observed* observed) {
      IngestWorkload(fault, stubs, observed);
    });
    // Search, Bulk and Ingest come first in the table; PoolAndHealth appended its two cells.
    std::vector<Cell> data_plane;
    for (const auto& [observed, bound, rpc] :
         {std::tuple{&search, &fault.search, "Search"}, std::tuple{&bulk, &fault.bulk, "Bulk"},
          std::tuple{&ingest, &fault.ingest, "Ingest"}}) {
      const std::string problems = observed->Check(*bound);
      EXPECT_EQ(problems, "") << fault.name << " x " << rpc << ": expected " << bound->Describe()
                              << ", observed " << observed->Describe();
      std::string shown = observed->Describe();
      if (observed->unknown_stored > 0) {
        absl::StrAppend(&shown, ", ", observed->unknown_stored, " unknown ones stored");
      }
      data_plane.push_back({bound->Describe(), shown, problems.empty()});
    }
    row.cells.insert(row.cells.begin(), data_plane.begin(), data_plane.end());
    rows_.push_back(std::move(row));
    cluster_.reset();
  }

  // A fresh esgw-server in front of the (reset) dev cluster, the fault injected, then `workload`.
  Observed Run(const FaultCase& fault,
               const std::function<void(testing::GatewayStubs&, Observed*)>& workload) {
    Observed observed;
    EXPECT_TRUE(cluster_->ResetAll(/*wipe_data=*/true).ok());
    std::vector<std::string> flags = kServerFlags;
    flags.insert(flags.end(), fault.server_flags.begin(), fault.server_flags.end());
    const std::string seeds =
        fault.seed_first_node_only ? cluster_->NodeUrl(0) : cluster_->SeedsFlag();
    auto server = testing::EsgwProcess::Start(seeds, flags);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return observed;
    testing::GatewayStubs stubs((*server)->channel());
    // The sniff on start has found every node (it probes the ones it did not know first).
    const size_t nodes = fault.cluster.nodes + fault.cluster.coordinating_nodes;
    EXPECT_TRUE(WaitFor(
        [&] {
          const absl::StatusOr<v1::PoolStats> stats = testing::PoolStatsOf(*stubs.admin);
          return stats.ok() && stats->sniffs_total() >= 1 &&
                 static_cast<size_t>(stats->nodes_size()) == nodes;
        },
        absl::Seconds(10), "the sniff on start finds every node"));
    if (fault.inject) {
      EXPECT_TRUE(fault.inject(*cluster_).ok()) << fault.name;
    }
    workload(stubs, &observed);
    return observed;
  }

  void SearchWorkload(const FaultCase& fault, testing::GatewayStubs& stubs, Observed* observed) {
    for (int i = 0; i < kSearches; ++i) {
      if (fault.before_call) fault.before_call(*cluster_, stubs, i);
      v1::SearchRequest request;
      request.add_indices("products");
      request.set_body_json(R"({"query":{"match_all":{}},"size":2})");
      v1::SearchResponse response;
      const grpc::Status status =
          stubs.gateway->Search(testing::CallContext(kSearchDeadline).get(), request, &response);
      ++observed->total;
      if (!status.ok()) {
        observed->Fail(CodeName(status.error_code()));
      } else if (response.hits_size() != 2) {
        observed->Fail("wrong hits");
      }
    }
  }

  void BulkWorkload(const FaultCase& fault, testing::GatewayStubs& stubs, Observed* observed) {
    const std::string index = "fault-bulk";
    Reports reports;
    for (int call = 0; call < kBulkCalls; ++call) {
      if (fault.before_call) fault.before_call(*cluster_, stubs, call);
      v1::BulkRequest request;
      request.set_index(index);
      for (int i = 0; i < kOpsPerBulk; ++i) {
        v1::BulkOp* op = request.add_ops();
        op->set_type(v1::OP_TYPE_INDEX);
        op->set_id(absl::StrCat("b", call, "-", i));
        op->set_source_json(absl::StrCat(R"({"call":)", call, R"(,"i":)", i, "}"));
        op->set_seq(call * kOpsPerBulk + i);
      }
      v1::BulkResponse response;
      const grpc::Status status =
          stubs.gateway->Bulk(testing::CallContext(kBulkDeadline).get(), request, &response);
      observed->total += kOpsPerBulk;
      if (!status.ok()) {
        // Nothing reported per op: the call's code stands for each of them, whose outcome the
        // storage check cannot judge.
        observed->Fail(CodeName(status.error_code()), kOpsPerBulk);
        for (const v1::BulkOp& op : request.ops()) reports.sent.insert(op.id());
        continue;
      }
      for (int i = 0; i < request.ops_size(); ++i) {
        reports.sent.insert(request.ops(i).id());
        if (i < response.items_size()) reports.Take(request.ops(i).id(), response.items(i));
      }
      if (response.items_size() != request.ops_size()) {
        observed->storage_errors.push_back("a Bulk answer does not report every op");
      }
    }
    reports.Judge(*cluster_, index, observed);
  }

  void IngestWorkload(const FaultCase& fault, testing::GatewayStubs& stubs, Observed* observed) {
    const std::string index = "fault-ingest";
    const std::vector<v1::IngestRequest> messages =
        testing::IngestMessages(index, kIngestOps, kIngestOpsPerMessage, 0, "i-", 0);
    const testing::IngestOutcome outcome =
        testing::RunIngest(*stubs.gateway, messages, absl::Seconds(60), [&](size_t message) {
          if (fault.before_call) fault.before_call(*cluster_, stubs, static_cast<int>(message));
        });
    observed->total = kIngestOps;
    if (!outcome.status.ok()) {
      observed->storage_errors.push_back(absl::StrCat("the stream ended ",
                                                      CodeName(outcome.status.error_code()), ": ",
                                                      outcome.status.error_message()));
    }
    if (outcome.duplicates != 0 || outcome.summaries != 1 || outcome.results_after_summary != 0) {
      observed->storage_errors.push_back(absl::StrCat(outcome.duplicates, " ops reported twice, ",
                                                      outcome.summaries, " summaries"));
    }
    Reports reports;
    for (const v1::IngestRequest& message : messages) {
      for (const v1::BulkOp& op : message.ops()) {
        reports.sent.insert(op.id());
        const auto result = outcome.results.find(op.seq());
        if (result == outcome.results.end()) {
          observed->Fail("never reported");
        } else {
          reports.Take(op.id(), result->second);
        }
      }
    }
    reports.Judge(*cluster_, index, observed);
  }

  // What Bulk or Ingest reported of each op, to be judged against what was stored.
  struct Reports {
    std::set<std::string> sent = {};
    std::set<std::string> written = {};      // 2xx
    std::set<std::string> not_applied = {};  // certainly not applied
    std::set<std::string> unknown = {};      // may have been applied
    std::map<std::string, std::string> failed = {};

    void Take(const std::string& id, const v1::BulkItemResult& item) {
      if (item.status() >= 200 && item.status() < 300) {
        written.insert(id);
      } else if (item.error().type() == "esgw_outcome_unknown") {
        unknown.insert(id);
        failed[id] = item.error().type();
      } else {
        // esgw_not_applied, or Elasticsearch's own item error (a 429 after the retries ran out).
        not_applied.insert(id);
        failed[id] = item.error().type().empty() ? "no error type" : item.error().type();
      }
    }

    void Judge(DevCluster& cluster, const std::string& index, Observed* observed) const {
      for (const auto& [id, type] : failed) observed->Fail(type);
      const absl::StatusOr<std::map<std::string, int64_t>> stored =
          testing::StoredDocs(cluster, index);
      if (!stored.ok()) {
        observed->storage_errors.push_back(stored.status().ToString());
        return;
      }
      int missing = 0, stored_not_applied = 0, stored_not_sent = 0;
      for (const std::string& id : written) missing += stored->count(id) == 0 ? 1 : 0;
      for (const std::string& id : not_applied) stored_not_applied += stored->count(id);
      for (const auto& [id, version] : *stored) {
        stored_not_sent += sent.count(id) == 0 ? 1 : 0;
        observed->unknown_stored += unknown.count(id);
      }
      if (missing + stored_not_applied + stored_not_sent > 0) {
        observed->storage_errors.push_back(absl::StrCat(
            missing, " written ops not stored, ", stored_not_applied,
            " ops reported not applied stored, ", stored_not_sent, " stored that were not sent"));
      }
    }
  };

  // GetPoolStats and health while the fault holds: both must answer, and show what is expected.
  void PoolAndHealth(const FaultCase& fault, testing::GatewayStubs& stubs, Row* row) {
    const absl::StatusOr<v1::PoolStats> stats = testing::PoolStatsOf(*stubs.admin);
    Cell pool{.expected = fault.pool_expectation.empty() ? "answers" : fault.pool_expectation,
              .observed = "",
              .ok = false};
    if (!stats.ok()) {
      pool.observed = stats.status().ToString();
    } else {
      const std::string problem = fault.pool_check ? fault.pool_check(*stats, *cluster_) : "";
      pool.ok = problem.empty();
      pool.observed = problem.empty() ? "as expected" : problem;
      EXPECT_EQ(problem, "") << fault.name << ": " << DescribePool(*stats);
    }
    EXPECT_TRUE(stats.ok()) << stats.status();

    // Health follows the pool at the server's next maintenance tick (every 100 ms).
    absl::StatusOr<HealthCheckResponse::ServingStatus> health;
    WaitFor(
        [&] {
          health = testing::HealthOf(*stubs.health);
          return health.ok() && *health == fault.health;
        },
        absl::Seconds(2), "health");
    Cell served{.expected = HealthCheckResponse::ServingStatus_Name(fault.health),
                .observed = health.ok() ? HealthCheckResponse::ServingStatus_Name(*health)
                                        : health.status().ToString(),
                .ok = health.ok() && *health == fault.health};
    EXPECT_TRUE(served.ok) << fault.name << ": health " << served.observed;
    row->cells.push_back(std::move(pool));
    row->cells.push_back(std::move(served));
  }

  std::unique_ptr<DevCluster> cluster_;
  static std::vector<Row> rows_;
};

std::vector<Row> FaultMatrixE2eTest::rows_;

// Faults on node 1 of 3 (data nodes 0-2). Search, and Bulk and Ingest ops with explicit ids, are
// idempotent: esgw may retry them on another node after any failure.

TEST_F(FaultMatrixE2eTest, KilledNodeCostsNothing) {
  RunRow({.name = "kill (refused connections, open ones reset)",
          .inject = [](DevCluster& c) { return c.Kill(1); },
          .pool_expectation = "node DEAD",
          .pool_check = NodeIs(1, v1::NODE_STATE_DEAD)});
}

TEST_F(FaultMatrixE2eTest, HungNodeCostsAtMostTheCallsThatEjectIt) {
  // A request a hung node holds fails at its deadline (nothing says whether it was applied, so
  // it is not retried). Three soft failures in a row eject the node. Search and Bulk calls come
  // one at a time: at most 3 fail. An Ingest stream has up to 4 batches (of 50 ops) in flight,
  // which may all reach the node before the first times out: at most 4 batches.
  RunRow({.name = "hang (never answers)",
          .inject = [](DevCluster& c) { return c.Hang(1); },
          .search = Bound::AtMost(3, {"DEADLINE_EXCEEDED"}),
          .bulk = Bound::AtMost(3 * kOpsPerBulk, {"DEADLINE_EXCEEDED", "esgw_outcome_unknown"}),
          .ingest = Bound::AtMost(4 * 50, {"esgw_outcome_unknown"}),
          .pool_expectation = "node DEAD",
          .pool_check = NodeIs(1, v1::NODE_STATE_DEAD)});
}

TEST_F(FaultMatrixE2eTest, HungNodeCostsNothingWithAnAttemptTimeout) {
  // With --attempt_timeout an idempotent attempt that gets no answer in 500 ms counts against
  // its node and is retried on another while the deadline allows: the calls all succeed.
  RunRow({.name = "hang, with --attempt_timeout=500ms",
          .server_flags = {"--attempt_timeout=500ms"},
          .inject = [](DevCluster& c) { return c.Hang(1); },
          .pool_expectation = "node DEAD",
          .pool_check = NodeIs(1, v1::NODE_STATE_DEAD)});
}

TEST_F(FaultMatrixE2eTest, SlowNodeCostsNothing) {
  RunRow({.name = "slow (300 ms per answer)",
          .inject = [](DevCluster& c) { return c.Slow(1, absl::Milliseconds(300)); },
          .pool_expectation = "every node ALIVE, none blamed",
          .pool_check = NoNodeBlamed});
}

// 502, 503 and 504 are soft failures: retried (the ops are idempotent), three in a row eject.
FaultCase GatewayErrorCase(int code) {
  return {.name = absl::StrCat("HTTP ", code,
                               code == 503 ? " (cluster_block_exception)" : " (proxy page)"),
          .inject = [code](DevCluster& c) { return c.Status(1, code); },
          .pool_expectation = "node DEAD",
          .pool_check = NodeIs(1, v1::NODE_STATE_DEAD)};
}

TEST_F(FaultMatrixE2eTest, Http502IsRetriedElsewhereAndEjects) { RunRow(GatewayErrorCase(502)); }
TEST_F(FaultMatrixE2eTest, Http503IsRetriedElsewhereAndEjects) { RunRow(GatewayErrorCase(503)); }
TEST_F(FaultMatrixE2eTest, Http504IsRetriedElsewhereAndEjects) { RunRow(GatewayErrorCase(504)); }

TEST_F(FaultMatrixE2eTest, Http429IsBackpressureRetriedWithoutEjecting) {
  RunRow({.name = "HTTP 429 (es_rejected_execution_exception)",
          .inject = [](DevCluster& c) { return c.Status(1, 429); },
          .pool_expectation = "node ALIVE",
          .pool_check = NodeIs(1, v1::NODE_STATE_ALIVE)});
}

TEST_F(FaultMatrixE2eTest, BulkItemsRejectedForLoadAreResent) {
  RunRow({.name = "429 on every 3rd bulk item, cluster-wide",
          .inject = [](DevCluster& c) { return c.BulkReject(3); },
          .pool_expectation = "every node ALIVE, none blamed",
          .pool_check = NoNodeBlamed});
}

TEST_F(FaultMatrixE2eTest, ResetBeforeAnswerIsRetried) {
  // Node 1 resets its next request before answering, armed again before every call (and every
  // Ingest message): the request was sent, so the failure is soft; the ops are idempotent and
  // retried on another node (never the same one twice in a row).
  RunRow({.name = "TCP reset before the answer (node 1, before every call)",
          .before_call = [](DevCluster& c, testing::GatewayStubs&,
                            int) { EXPECT_TRUE(c.ResetNext(1).ok()); },
          .pool_expectation = "answers",
          .pool_check = nullptr});
}

TEST_F(FaultMatrixE2eTest, IdleConnectionsClosedByTheNodesCostNothingAndBlameNoOne) {
  RunRow({.name = "idle keep-alive connections closed (every node, before every call)",
          .before_call =
              [](DevCluster& c, testing::GatewayStubs&, int) {
                for (int node = 0; node < 3; ++node) EXPECT_TRUE(c.CloseIdle(node).ok());
              },
          .pool_expectation = "every node ALIVE, none blamed",
          .pool_check = NoNodeBlamed});
}

TEST_F(FaultMatrixE2eTest, ConnectionRotationCostsNothingAndBlamesNoOne) {
  RunRow({.name = "connection rotation (connection: close after 3 requests)",
          .cluster = {.nodes = 3,
                      .sample_data = true,
                      .extra_flags = {"--max_requests_per_connection=3"}},
          .pool_expectation = "every node ALIVE, none blamed",
          .pool_check = NoNodeBlamed});
}

TEST_F(FaultMatrixE2eTest, UnreachableSniffedAddressIsNeverAdmitted) {
  RunRow({.name = "unreachable sniffed address (node 1 publishes 10.255.255.1)",
          .cluster = {.nodes = 3, .sample_data = true, .extra_flags = {"--unreachable_publish=1"}},
          .pool_expectation = "the seeds ALIVE, 10.255.255.1 not admitted",
          .pool_check = [](const v1::PoolStats& stats, const DevCluster& cluster) -> std::string {
            for (const v1::NodeStats& node : stats.nodes()) {
              if (node.address().rfind("10.255.255.1", 0) == 0 &&
                  node.state() == v1::NODE_STATE_ALIVE) {
                return "the unreachable address was admitted";
              }
            }
            return NoNodeBlamed(stats, cluster);
          }});
}

TEST_F(FaultMatrixE2eTest, MasterOnlyNodeIsLeftOutAndCoordinatingNodeServes) {
  RunRow({.name = "a master-only and a coordinating-only node besides 3 data nodes",
          .cluster =
              {.nodes = 3, .sample_data = true, .master_only_nodes = 1, .coordinating_nodes = 1},
          .pool_expectation = "3 data + 1 coordinating ALIVE, no master-only",
          .pool_check = [](const v1::PoolStats& stats, const DevCluster& cluster) -> std::string {
            // Data nodes first, then the master-only (index 3), then the coordinating one.
            const std::vector<std::string>& addresses = cluster.node_addresses();
            if (!testing::NodeAt(stats, addresses[3]).address().empty()) {
              return "the master-only node is in the pool";
            }
            if (testing::NodeAt(stats, addresses[4]).address().empty()) {
              return "the coordinating-only node is not in the pool";
            }
            if (stats.nodes_size() != 4) return absl::StrCat(stats.nodes_size(), " nodes");
            return NoNodeBlamed(stats, cluster);
          }});
}

TEST_F(FaultMatrixE2eTest, NodeLeavingAndJoiningCostsNothing) {
  // esgw knows node 0 from its seeds and nodes 1 and 2 from sniffing. Before the third call (or
  // Ingest message) of each workload node 2 leaves the cluster (killed, so _nodes no longer lists
  // it) and esgw sniffs; before the fifth it comes back and esgw sniffs again (it probes, then
  // admits it).
  RunRow({.name = "a sniffed node leaves, then joins again",
          .server_flags = {"--dead_timeout=200ms", "--max_dead_timeout=1s"},
          .seed_first_node_only = true,
          .before_call =
              [](DevCluster& c, testing::GatewayStubs& stubs, int call) {
                auto sniff = [&] {
                  v1::PoolStats stats;
                  EXPECT_TRUE(stubs.admin->Sniff(testing::CallContext().get(), {}, &stats).ok());
                  return stats;
                };
                if (call == 2) {
                  EXPECT_TRUE(c.Kill(2).ok());
                  const v1::PoolStats stats = sniff();
                  EXPECT_TRUE(testing::NodeAt(stats, c.node_addresses()[2]).address().empty())
                      << "node 2 left: " << DescribePool(stats);
                } else if (call == 4) {
                  EXPECT_TRUE(c.Revive(2).ok());
                  const v1::PoolStats stats = sniff();
                  EXPECT_EQ(testing::NodeAt(stats, c.node_addresses()[2]).state(),
                            v1::NODE_STATE_ALIVE)
                      << "node 2 joined: " << DescribePool(stats);
                }
              },
          .pool_expectation = "node 2 back and ALIVE",
          .pool_check = NodeIs(2, v1::NODE_STATE_ALIVE)});
}

TEST_F(FaultMatrixE2eTest, EveryNodeDownIsUnavailableAndNothingIsWritten) {
  // A batch sent on the kept-alive connection esgw holds from its start-up sniff, just as the
  // node resets it, is "outcome unknown": a node that died after taking a request looks the
  // same. Nothing is stored either way.
  RunRow({.name = "every node killed",
          .inject =
              [](DevCluster& c) {
                for (int node = 0; node < 3; ++node) {
                  if (absl::Status s = c.Kill(node); !s.ok()) return s;
                }
                return absl::OkStatus();
              },
          .search = Bound::All({"UNAVAILABLE"}),
          .bulk = Bound::All({"UNAVAILABLE", "esgw_outcome_unknown"}),
          .ingest = Bound::All({"esgw_not_applied", "esgw_outcome_unknown"}),
          .pool_expectation = "every node DEAD",
          .pool_check = [](const v1::PoolStats& stats, const DevCluster&) -> std::string {
            for (const v1::NodeStats& node : stats.nodes()) {
              if (node.state() == v1::NODE_STATE_ALIVE) return node.address() + " ALIVE";
            }
            return "";
          },
          .health = HealthCheckResponse::NOT_SERVING});
}

}  // namespace
}  // namespace esgw
