// A fake Elasticsearch _bulk endpoint for unit tests of the write path: a real NodePool and
// Dispatcher of three nodes over a FakeTransport that answers _bulk requests (at once, or when
// the test says), a fake clock and a timer queue driven by hand.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pool/dispatcher.h"
#include "pool/node_pool.h"
#include "pool/timer_queue.h"
#include "server/bulk_encoder.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"

namespace esgw::testing {

inline constexpr char kRejected[] =
    R"({"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"queue full"}],)"
    R"("type":"es_rejected_execution_exception","reason":"queue full"},"status":429})";

// One action of a _bulk request body, as the fake Elasticsearch reads it.
struct Action {
  std::string action;
  std::string id;
};

inline std::vector<Action> Actions(const std::string& body) {
  std::vector<Action> actions;
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    for (const char* name : {"index", "create", "update", "delete"}) {
      if (absl::StartsWith(line, absl::StrCat("{\"", name, "\":"))) {
        Action action{name, ""};
        const size_t at = line.find("\"_id\":\"");
        if (at != absl::string_view::npos) {
          const size_t start = at + 7;
          action.id = std::string(line.substr(start, line.find('"', start) - start));
        }
        actions.push_back(action);
      }
    }
  }
  return actions;
}

inline std::vector<std::string> Ids(const HttpRequest& request) {
  std::vector<std::string> ids;
  for (const Action& action : Actions(request.body)) ids.push_back(action.id);
  return ids;
}

// A _bulk response with one item per action, each with the status status_of gives it.
inline std::string BulkBody(const std::vector<Action>& actions,
                            const std::function<int(const Action&)>& status_of) {
  std::vector<std::string> items;
  bool errors = false;
  int generated = 0;
  for (const Action& action : actions) {
    const int status = status_of(action);
    const std::string id = action.id.empty() ? absl::StrCat("gen-", ++generated) : action.id;
    std::string fields = absl::StrCat(R"("_index":"i","_id":")", id, R"(","status":)", status);
    if (status >= 200 && status < 300) {
      const char* result = action.action == "delete" ? "deleted"
                           : status == 201           ? "created"
                                                     : "updated";
      absl::StrAppend(&fields, R"(,"result":")", result,
                      R"(","_version":3,"_seq_no":7,"_primary_term":1)");
    } else if (status == 429) {
      errors = true;
      absl::StrAppend(&fields, R"(,"error":{"type":"es_rejected_execution_exception",)",
                      R"("reason":"rejected execution of coordinating operation"})");
    } else if (status == 404 && action.action == "delete") {
      absl::StrAppend(&fields, R"(,"result":"not_found","_version":1)");
    } else {
      errors = true;
      absl::StrAppend(&fields, R"(,"error":{"type":"version_conflict_engine_exception",)",
                      R"("reason":"version conflict"})");
    }
    items.push_back(absl::StrCat("{\"", action.action, "\":{", fields, "}}"));
  }
  return absl::StrCat(R"({"took":7,"errors":)", errors ? "true" : "false", R"(,"items":[)",
                      absl::StrJoin(items, ","), "]}");
}

inline int AllOk(const Action& action) { return action.action == "create" ? 201 : 200; }

inline EncodedOp Op(v1::OpType type, std::string id, uint64_t seq = 0) {
  v1::BulkOp op;
  op.set_type(type);
  op.set_index("i");
  op.set_id(std::move(id));
  if (type != v1::OP_TYPE_DELETE) {
    op.set_source_json(type == v1::OP_TYPE_UPDATE ? R"({"doc":{"n":1}})" : R"({"n":1})");
  }
  op.set_seq(seq);
  absl::StatusOr<EncodedOp> encoded = EncodeBulkOp(op, {}, "ops[0]");
  EXPECT_TRUE(encoded.ok()) << encoded.status();
  return encoded.ok() ? *std::move(encoded) : EncodedOp{};
}

// n index ops, seq = position; ids "1".."n" (idempotent) or none (not idempotent).
inline std::vector<EncodedOp> IndexOps(int n, bool with_ids) {
  std::vector<EncodedOp> ops;
  for (int i = 0; i < n; ++i) {
    ops.push_back(Op(v1::OP_TYPE_INDEX, with_ids ? absl::StrCat(i + 1) : "", i));
  }
  return ops;
}

// Owns the fake cluster; tests derive from it.
class FakeBulkCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<NodeInfo> seeds;
    for (int port : {9200, 9201, 9202}) {
      seeds.push_back({.endpoint = {"http", "127.0.0.1", port}});
    }
    auto pool = NodePool::Create(
        {.selector = SelectorKind::kRoundRobin, .random_seed = 7, .clock = &clock_}, seeds);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    auto dispatcher = Dispatcher::Create({.pool = pool_.get(),
                                          .transport = &transport_,
                                          .timers = &timers_,
                                          .clock = &clock_,
                                          .random_seed = 7});
    ASSERT_TRUE(dispatcher.ok()) << dispatcher.status();
    dispatcher_ = *std::move(dispatcher);
  }

  // Answers each _bulk at once; status_of sees each action and the 0-based number of the
  // exchange.
  void Respond(std::function<int(const Action&, int exchange)> status_of) {
    transport_.SetResponder(
        [this, status_of](const Endpoint&, const HttpRequest& request) -> HttpResponse {
          const int exchange = exchanges_++;
          return FakeTransport::Ok(BulkBody(Actions(request.body), [&](const Action& action) {
            return status_of(action, exchange);
          }));
        });
  }

  // Completes the held exchange number index as Elasticsearch would.
  void Answer(size_t index, const std::function<int(const Action&)>& status_of = AllOk) {
    const auto exchanges = transport_.exchanges();
    ASSERT_LT(index, exchanges.size());
    transport_.Complete(
        index, FakeTransport::Ok(BulkBody(Actions(exchanges[index].request.body), status_of)));
  }

  size_t Sent() const { return transport_.exchanges().size(); }

  // Plays Elasticsearch on a thread of its own until the object is destroyed: answers every
  // exchange as it comes (status_of sees each action and the exchange's number) and moves the
  // clock by step between rounds, running due timers. For tests of concurrent use.
  class Background {
   public:
    Background(FakeBulkCluster* cluster, std::function<int(const Action&, size_t)> status_of,
               absl::Duration step)
        : thread_([this, cluster, status_of = std::move(status_of), step] {
            size_t next = 0;
            while (!stop_.load()) {
              const auto exchanges = cluster->transport_.exchanges();
              for (; next < exchanges.size(); ++next) {
                cluster->transport_.Complete(
                    next, FakeTransport::Ok(BulkBody(
                              Actions(exchanges[next].request.body),
                              [&](const Action& action) { return status_of(action, next); })));
              }
              cluster->clock_.Advance(step);
              cluster->timers_.RunDue();
              std::this_thread::yield();
            }
          }) {}
    ~Background() {
      stop_ = true;
      thread_.join();
    }

   private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
  };

  FakeClock clock_;
  FakeTransport transport_;
  TimerQueue timers_{&clock_};
  std::unique_ptr<NodePool> pool_;
  std::unique_ptr<Dispatcher> dispatcher_;
  int exchanges_ = 0;
};

}  // namespace esgw::testing
