// The BulkRunner over a real Dispatcher and NodePool, with a scripted transport playing
// Elasticsearch's _bulk endpoint, a fake clock and a timer queue driven by hand: batching, item
// retries, whole-request failures, "not applied" versus "outcome unknown", cancellation.
#include "server/bulk_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/support/fake_bulk.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using testing::Action;
using testing::Actions;
using testing::AllOk;
using testing::BulkBody;
using ::testing::ElementsAre;
using testing::FakeClock;
using testing::FakeTransport;
using ::testing::HasSubstr;
using testing::Ids;
using testing::IndexOps;
using testing::IsOk;
using testing::kRejected;
using testing::Op;
using ::testing::Pair;
using testing::StatusIs;

class BulkRunnerTest : public testing::FakeBulkCluster {
 protected:
  BulkRunner::Options Options() {
    BulkRunner::Options options;
    options.dispatcher = dispatcher_.get();
    options.timers = &timers_;
    options.clock = &clock_;
    options.deadline = clock_.Now() + absl::Seconds(30);
    options.random_seed = 11;
    options.on_result = [this](size_t position, v1::BulkItemResult result) {
      EXPECT_EQ(done_, 0) << "a result after on_done";
      EXPECT_FALSE(results_.contains(position)) << "op " << position << " reported twice";
      order_.push_back(position);
      results_[position] = std::move(result);
    };
    options.on_done = [this] { ++done_; };
    return options;
  }

  // Creates a runner, adds ops and closes it: what the Bulk handler does.
  std::shared_ptr<BulkRunner> Run(std::vector<EncodedOp> ops, BulkRunner::Options options) {
    auto runner = BulkRunner::Create(std::move(options));
    EXPECT_THAT(runner, IsOk());
    if (!runner.ok()) return nullptr;
    EXPECT_THAT((*runner)->Add(std::move(ops)), IsOk());
    (*runner)->Close();
    return *runner;
  }
  std::shared_ptr<BulkRunner> Run(std::vector<EncodedOp> ops) {
    return Run(std::move(ops), Options());
  }

  // Moves the clock in steps, running due timers, until on_done or max_steps.
  void RunTimersUntilDone(absl::Duration step, int max_steps = 200) {
    for (int i = 0; i < max_steps && done_ == 0; ++i) {
      clock_.Advance(step);
      timers_.RunDue();
    }
  }

  std::map<size_t, v1::BulkItemResult> results_;
  std::vector<size_t> order_;
  int done_ = 0;
};

TEST_F(BulkRunnerTest, CreateRejectsMissingParts) {
  BulkRunner::Options options = Options();
  options.on_result = nullptr;
  EXPECT_THAT(BulkRunner::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options();
  options.settings.max_batch_ops = 0;
  EXPECT_THAT(BulkRunner::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options();
  options.settings.retry_max = absl::Milliseconds(1);
  EXPECT_THAT(BulkRunner::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(BulkRunnerTest, SendsOneBulkRequestAndReportsEveryItem) {
  Respond([](const Action& action, int) { return AllOk(action); });
  std::vector<EncodedOp> ops = {Op(v1::OP_TYPE_INDEX, "1", 10), Op(v1::OP_TYPE_CREATE, "", 11),
                                Op(v1::OP_TYPE_UPDATE, "3", 12), Op(v1::OP_TYPE_DELETE, "4", 13)};
  std::string body;
  for (const EncodedOp& op : ops) body += op.ndjson;
  BulkRunner::Options options = Options();
  options.refresh = v1::REFRESH_WAIT_FOR;
  options.headers = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  auto runner = Run(std::move(ops), options);

  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  const HttpRequest& request = exchanges[0].request;
  EXPECT_EQ(request.method, HttpMethod::kPost);
  EXPECT_EQ(request.path, "/_bulk?refresh=wait_for");
  EXPECT_EQ(request.content_type, "application/x-ndjson");
  EXPECT_EQ(request.body, body);
  EXPECT_THAT(request.headers, ElementsAre(Pair("traceparent", HasSubstr("0af765"))));

  ASSERT_EQ(done_, 1);
  ASSERT_EQ(results_.size(), 4u);
  EXPECT_EQ(results_[0].seq(), 10u);
  EXPECT_EQ(results_[0].status(), 200);
  EXPECT_EQ(results_[0].result(), "updated");
  EXPECT_EQ(results_[1].seq(), 11u);
  EXPECT_EQ(results_[1].status(), 201);
  EXPECT_EQ(results_[1].id(), "gen-1") << "the id Elasticsearch assigned";
  EXPECT_EQ(results_[3].result(), "deleted");
  EXPECT_EQ(results_[3].seq_no(), 7);
  for (const auto& [position, result] : results_) EXPECT_EQ(result.attempts(), 1) << position;
  EXPECT_THAT(runner->request_failure(), IsOk());
  EXPECT_EQ(runner->stats().took_ms, 7);
  EXPECT_EQ(runner->stats().ok, 4);
  EXPECT_EQ(runner->stats().retried, 0);
}

TEST_F(BulkRunnerTest, BatchesGoOneAtATimeInRequestOrder) {
  BulkRunner::Options options = Options();
  options.settings.max_batch_ops = 2;
  auto runner = Run(IndexOps(5, true), options);
  ASSERT_EQ(Sent(), 1u) << "the next batch waits for this one";
  Answer(0);
  ASSERT_EQ(Sent(), 2u);
  Answer(1);
  ASSERT_EQ(Sent(), 3u);
  EXPECT_EQ(done_, 0);
  Answer(2);
  const auto exchanges = transport_.exchanges();
  EXPECT_THAT(Ids(exchanges[0].request), ElementsAre("1", "2"));
  EXPECT_THAT(Ids(exchanges[1].request), ElementsAre("3", "4"));
  EXPECT_THAT(Ids(exchanges[2].request), ElementsAre("5"));
  EXPECT_EQ(done_, 1);
  EXPECT_THAT(order_, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_EQ(runner->stats().batches, 3);
  EXPECT_EQ(runner->stats().took_ms, 21);
}

TEST_F(BulkRunnerTest, BatchesAreCutByBytes) {
  std::vector<EncodedOp> ops = IndexOps(3, true);
  BulkRunner::Options options = Options();
  options.settings.max_batch_bytes = ops[0].ndjson.size() + ops[1].ndjson.size();
  Respond([](const Action& action, int) { return AllOk(action); });
  Run(std::move(ops), options);
  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 2u);
  EXPECT_THAT(Ids(exchanges[0].request), ElementsAre("1", "2"));
  EXPECT_THAT(Ids(exchanges[1].request), ElementsAre("3"));
  EXPECT_EQ(done_, 1);
}

TEST_F(BulkRunnerTest, RejectedItemsAreResentAloneInOrderAfterABackoff) {
  Respond([](const Action& action, int exchange) {
    return exchange == 0 && (action.id == "2" || action.id == "4") ? 429 : 201;
  });
  auto runner = Run(IndexOps(5, true));
  ASSERT_EQ(Sent(), 1u);
  EXPECT_THAT(order_, ElementsAre(0, 2, 4)) << "final items are reported at once";
  EXPECT_EQ(timers_.pending(), 1u);
  clock_.Advance(absl::Milliseconds(79));  // the first backoff is 100 ms +-20 %
  timers_.RunDue();
  EXPECT_EQ(Sent(), 1u);
  clock_.Advance(absl::Milliseconds(50));
  timers_.RunDue();
  ASSERT_EQ(Sent(), 2u);
  EXPECT_THAT(Ids(transport_.exchanges()[1].request), ElementsAre("2", "4"));
  ASSERT_EQ(done_, 1);
  EXPECT_THAT(order_, ElementsAre(0, 2, 4, 1, 3));
  for (size_t position = 0; position < 5; ++position) {
    EXPECT_EQ(results_[position].status(), 201) << position;
    EXPECT_EQ(results_[position].seq(), position);
    EXPECT_EQ(results_[position].attempts(), position == 1 || position == 3 ? 2 : 1) << position;
  }
  EXPECT_EQ(runner->stats().retried, 2);
  EXPECT_THAT(runner->request_failure(), IsOk());
}

TEST_F(BulkRunnerTest, PersistentRejectionEndsWithTheLast429BeforeTheDeadline) {
  Respond([](const Action& action, int) { return action.id == "2" ? 429 : 201; });
  BulkRunner::Options options = Options();
  const absl::Time deadline = clock_.Now() + absl::Seconds(2);
  options.deadline = deadline;
  Run(IndexOps(3, true), options);
  RunTimersUntilDone(absl::Milliseconds(10));
  ASSERT_EQ(done_, 1);
  EXPECT_LT(clock_.Now(), deadline) << "gives up once the next backoff cannot fit";
  const v1::BulkItemResult& rejected = results_[1];
  EXPECT_EQ(rejected.status(), 429);
  EXPECT_EQ(rejected.error().type(), "es_rejected_execution_exception");
  // 100 + 200 + 400 + 800 ms (+-20 %) fit in 2 s; the next 1.6 s does not.
  EXPECT_EQ(rejected.attempts(), 5);
  EXPECT_EQ(Sent(), 5u);
  EXPECT_EQ(results_[0].attempts(), 1);
  EXPECT_EQ(results_[2].attempts(), 1);
  EXPECT_EQ(timers_.pending(), 0u);
}

TEST_F(BulkRunnerTest, RejectedOpIsNotResentWhenALaterOpOnTheSameDocumentWasApplied) {
  Respond([](const Action& action, int exchange) {
    if (exchange > 0) return 201;
    return action.action == "delete" ? 200 : 429;
  });
  // index a (rejected), index b (rejected), delete a (applied).
  auto runner =
      Run({Op(v1::OP_TYPE_INDEX, "a"), Op(v1::OP_TYPE_INDEX, "b"), Op(v1::OP_TYPE_DELETE, "a")});
  RunTimersUntilDone(absl::Milliseconds(50));
  ASSERT_EQ(done_, 1);
  ASSERT_EQ(Sent(), 2u);
  EXPECT_THAT(Ids(transport_.exchanges()[1].request), ElementsAre("b"))
      << "resending 'index a' now would undo the delete that came after it";
  EXPECT_EQ(results_[0].status(), 429);
  EXPECT_EQ(results_[0].attempts(), 1);
  EXPECT_THAT(results_[0].error().reason(), HasSubstr("same document"));
  EXPECT_THAT(results_[0].error().reason(), HasSubstr("reorder"));
  EXPECT_EQ(results_[1].status(), 201);
  EXPECT_EQ(results_[1].attempts(), 2);
  EXPECT_EQ(results_[2].status(), 200);
}

TEST_F(BulkRunnerTest, RejectedOpsOnOneDocumentAreResentTogetherInOrder) {
  Respond([](const Action& action, int exchange) {
    if (exchange > 0) return 200;
    return action.id == "a" ? 429 : 200;
  });
  Run({Op(v1::OP_TYPE_INDEX, "a"), Op(v1::OP_TYPE_INDEX, "b"), Op(v1::OP_TYPE_UPDATE, "a")});
  RunTimersUntilDone(absl::Milliseconds(50));
  ASSERT_EQ(done_, 1);
  ASSERT_EQ(Sent(), 2u);
  const std::vector<Action> resent = Actions(transport_.exchanges()[1].request.body);
  ASSERT_EQ(resent.size(), 2u);
  EXPECT_EQ(resent[0].action, "index");
  EXPECT_EQ(resent[1].action, "update");
  EXPECT_EQ(results_[0].attempts(), 2);
  EXPECT_EQ(results_[2].attempts(), 2);
}

TEST_F(BulkRunnerTest, WholeRequestRejectionIsRetriedByTheDispatcher) {
  transport_.SetResponder([this](const Endpoint&, const HttpRequest& request) {
    if (exchanges_++ == 0) return FakeTransport::Ok(kRejected, 429);
    return FakeTransport::Ok(BulkBody(Actions(request.body), AllOk));
  });
  // Not idempotent: a whole-request 429 is retried all the same.
  auto runner = Run(IndexOps(2, false));
  ASSERT_EQ(Sent(), 1u);
  EXPECT_EQ(done_, 0);
  RunTimersUntilDone(absl::Milliseconds(100));
  ASSERT_EQ(done_, 1);
  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 2u);
  EXPECT_EQ(exchanges[0].request.body, exchanges[1].request.body);
  EXPECT_EQ(results_[0].status(), 200);
  EXPECT_EQ(results_[0].attempts(), 2);
  EXPECT_EQ(results_[1].attempts(), 2);
  EXPECT_EQ(runner->stats().retried, 2);
}

TEST_F(BulkRunnerTest, RefusedEverywhereIsNotAppliedAndFailsTheRequest) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Failed(TransportError::kConnectFailed);
  });
  // With or without ids: refusals apply nothing, so even an idempotent batch that was tried on
  // every node is certainly not applied.
  for (const bool with_ids : {false, true}) {
    results_.clear();
    done_ = 0;
    const size_t sent_before = Sent();
    auto runner = Run(IndexOps(2, with_ids));
    ASSERT_EQ(done_, 1);
    EXPECT_EQ(Sent() - sent_before, 3u) << "each node once";
    for (const auto& [position, result] : results_) {
      EXPECT_EQ(result.error().type(), "esgw_not_applied") << position << " ids " << with_ids;
      EXPECT_EQ(result.status(), 503);
      EXPECT_THAT(result.error().reason(), HasSubstr("no Elasticsearch node available"));
      EXPECT_EQ(result.index(), "i");
    }
    EXPECT_THAT(runner->request_failure(), StatusIs(absl::StatusCode::kUnavailable));
  }
}

TEST_F(BulkRunnerTest, IdempotentBatchIsResentWholeToAnotherNodeAfterASoftFailure) {
  transport_.SetResponder([this](const Endpoint&, const HttpRequest& request) {
    if (exchanges_++ == 0) return FakeTransport::Failed(TransportError::kConnectionLost);
    return FakeTransport::Ok(BulkBody(Actions(request.body), AllOk));
  });
  auto runner = Run(IndexOps(3, true));
  ASSERT_EQ(done_, 1);
  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 2u);
  EXPECT_NE(exchanges[0].node, exchanges[1].node);
  EXPECT_EQ(exchanges[0].request.body, exchanges[1].request.body);
  for (const auto& [position, result] : results_) {
    EXPECT_EQ(result.status(), 200) << position;
    EXPECT_EQ(result.attempts(), 2);
  }
}

TEST_F(BulkRunnerTest, SoftFailureThenRefusalsIsOutcomeUnknownForAnIdempotentBatch) {
  // The first attempt may have reached the node; the refusals after it do not undo that.
  transport_.SetResponder([this](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Failed(exchanges_++ == 0 ? TransportError::kConnectionLost
                                                   : TransportError::kConnectFailed);
  });
  auto runner = Run(IndexOps(2, true));
  ASSERT_EQ(done_, 1);
  // The node that failed softly is not ejected, so it is tried again once the others refused.
  EXPECT_EQ(Sent(), 4u);
  for (const auto& [position, result] : results_) {
    EXPECT_EQ(result.error().type(), "esgw_outcome_unknown") << position;
    EXPECT_EQ(result.status(), 503);
  }
  EXPECT_THAT(runner->request_failure(), IsOk());
}

TEST_F(BulkRunnerTest, AnOpAnEarlierSendMayHaveAppliedIsNeverReportedNotApplied) {
  // The first send is lost after it went out (it may have applied every op); the resend
  // elsewhere answers, rejecting op 2 for load. However op 2's own resends end - rejected until
  // the deadline, or refused by every node - the first send may have stored it: unknown.
  for (const bool refused : {false, true}) {
    SCOPED_TRACE(refused ? "resends refused" : "resends rejected for load");
    results_.clear();
    done_ = 0;
    exchanges_ = 0;
    transport_.SetResponder([this, refused](const Endpoint&, const HttpRequest& request) {
      const int exchange = exchanges_++;
      if (exchange == 0) return FakeTransport::Failed(TransportError::kConnectionLost);
      if (exchange >= 2 && refused) return FakeTransport::Failed(TransportError::kConnectFailed);
      return FakeTransport::Ok(BulkBody(Actions(request.body), [](const Action& action) {
        return action.id == "2" ? 429 : 201;
      }));
    });
    BulkRunner::Options options = Options();
    options.deadline = clock_.Now() + absl::Seconds(2);
    auto runner = Run(IndexOps(3, true), options);
    RunTimersUntilDone(absl::Milliseconds(10));
    ASSERT_EQ(done_, 1);
    EXPECT_EQ(results_[0].status(), 201);
    EXPECT_EQ(results_[2].status(), 201);
    const v1::BulkItemResult& op2 = results_[1];
    EXPECT_EQ(op2.error().type(), "esgw_outcome_unknown") << op2.DebugString();
    EXPECT_THAT(op2.error().reason(), HasSubstr("an earlier send"));
    EXPECT_EQ(op2.error().caused_by_type(),
              refused ? "esgw_not_applied" : "es_rejected_execution_exception");
    EXPECT_EQ(op2.id(), "2");
    EXPECT_THAT(runner->request_failure(), IsOk()) << "not a failure of the whole request";
  }
}

TEST_F(BulkRunnerTest, AStaleConnectionThenRefusalsIsOutcomeUnknown) {
  // A reused connection reset before any answer: usually closed by the node while idle, but a
  // node that died after taking the request looks the same, so the refusals after it do not
  // prove that nothing was applied.
  transport_.SetResponder([this](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Failed(exchanges_++ == 0 ? TransportError::kStaleConnection
                                                   : TransportError::kConnectFailed);
  });
  auto runner = Run(IndexOps(2, false));
  ASSERT_EQ(done_, 1);
  for (const auto& [position, result] : results_) {
    EXPECT_EQ(result.error().type(), "esgw_outcome_unknown") << position;
  }
  EXPECT_THAT(runner->request_failure(), IsOk());
}

TEST_F(BulkRunnerTest, AConflictAfterASendThatMayHaveAppliedIsOutcomeUnknown) {
  // A create sent on a reused connection that died before any answer may have created the
  // document, so the resend's 409 may be about that very document.
  for (const bool stale_first : {true, false}) {
    SCOPED_TRACE(stale_first ? "first send lost" : "first send answered");
    results_.clear();
    done_ = 0;
    exchanges_ = 0;
    transport_.SetResponder([this, stale_first](const Endpoint&, const HttpRequest& request) {
      if (exchanges_++ == 0 && stale_first) {
        return FakeTransport::Failed(TransportError::kStaleConnection);
      }
      return FakeTransport::Ok(BulkBody(Actions(request.body), [](const Action&) { return 409; }));
    });
    auto runner = Run({Op(v1::OP_TYPE_CREATE, "1", 0), Op(v1::OP_TYPE_INDEX, "2", 1)});
    ASSERT_EQ(done_, 1);
    for (const auto& [position, result] : results_) {
      EXPECT_EQ(result.status(), 409) << position;
      if (stale_first) {
        EXPECT_EQ(result.error().type(), "esgw_outcome_unknown") << position;
        EXPECT_THAT(result.error().reason(), HasSubstr("an earlier send")) << position;
        EXPECT_EQ(result.error().caused_by_type(), "version_conflict_engine_exception");
      } else {
        // Nothing was sent before: the conflict is Elasticsearch's answer, as it gave it.
        EXPECT_EQ(result.error().type(), "version_conflict_engine_exception") << position;
      }
    }
    EXPECT_THAT(runner->request_failure(), IsOk());
  }
}

TEST_F(BulkRunnerTest, TimeoutAfterSendingIsOutcomeUnknownForANonIdempotentBatch) {
  transport_.SetResponder([this](const Endpoint&, const HttpRequest& request) {
    clock_.Advance(request.timeout);
    return FakeTransport::Failed(TransportError::kTimeout);
  });
  BulkRunner::Options options = Options();
  options.deadline = clock_.Now() + absl::Seconds(5);
  auto runner = Run(IndexOps(2, false), options);
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(Sent(), 1u) << "not resent: it may have been applied";
  for (const auto& [position, result] : results_) {
    EXPECT_EQ(result.error().type(), "esgw_outcome_unknown") << position;
    EXPECT_EQ(result.status(), 504);
    EXPECT_THAT(result.error().reason(), HasSubstr("deadline exceeded"));
    EXPECT_EQ(result.attempts(), 1);
  }
  EXPECT_THAT(runner->request_failure(), IsOk());
}

TEST_F(BulkRunnerTest, MalformedResponseBodyIsOutcomeUnknown) {
  for (const char* body : {"<html><title>Bad Gateway</title></html>",
                           R"({"took":1,"items":[{"index":)", R"({"took":1,"errors":false})",
                           R"({"items":[{"index":{"status":"created"}}]})", R"({"items":[{}]})"}) {
    SCOPED_TRACE(body);
    results_.clear();
    done_ = 0;
    transport_.SetResponder(
        [body](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok(body); });
    auto runner = Run(IndexOps(2, true));
    ASSERT_EQ(done_, 1);
    ASSERT_EQ(results_.size(), 2u);
    for (const auto& [position, result] : results_) {
      EXPECT_EQ(result.error().type(), "esgw_outcome_unknown") << position;
      EXPECT_EQ(result.status(), 500);
      EXPECT_THAT(result.error().reason(), HasSubstr("elasticsearch response"));
    }
    EXPECT_THAT(runner->request_failure(), IsOk());
  }
  // An empty 200 cannot be Elasticsearch's: a failure of the node (the batch, idempotent here,
  // goes to the others), and in the end still "outcome unknown".
  results_.clear();
  done_ = 0;
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok(""); });
  auto runner = Run(IndexOps(2, true));
  ASSERT_EQ(done_, 1);
  ASSERT_EQ(results_.size(), 2u);
  for (const auto& [position, result] : results_) {
    EXPECT_EQ(result.error().type(), "esgw_outcome_unknown") << position;
    EXPECT_EQ(result.status(), 503);
    EXPECT_THAT(result.error().reason(),
                HasSubstr("not an Elasticsearch answer: the body is empty"));
  }
  EXPECT_THAT(runner->request_failure(), IsOk());
}

TEST_F(BulkRunnerTest, ItemsThatDoNotMatchTheBatchAreOutcomeUnknown) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest& request) {
    std::vector<Action> actions = Actions(request.body);
    actions.pop_back();
    return FakeTransport::Ok(BulkBody(actions, AllOk));
  });
  Run(IndexOps(3, true));
  ASSERT_EQ(done_, 1);
  ASSERT_EQ(results_.size(), 3u);
  for (const auto& [position, result] : results_) {
    EXPECT_EQ(result.error().type(), "esgw_outcome_unknown") << position;
    EXPECT_THAT(result.error().reason(), HasSubstr("2 bulk items for 3 operations"));
  }

  results_.clear();
  done_ = 0;
  transport_.SetResponder([](const Endpoint&, const HttpRequest& request) {
    std::vector<Action> actions = Actions(request.body);
    actions[1].action = "create";
    return FakeTransport::Ok(BulkBody(actions, AllOk));
  });
  Run(IndexOps(2, true));
  ASSERT_EQ(done_, 1);
  EXPECT_THAT(results_[0].error().reason(), HasSubstr("\"create\" for a index operation"));
}

TEST_F(BulkRunnerTest, WholeRequestElasticsearchErrorIsNotApplied) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Ok(R"({"error":{"root_cause":[],"type":"illegal_argument_exception",)"
                             R"("reason":"Malformed action/metadata line [1]"},"status":400})",
                             400);
  });
  auto runner = Run(IndexOps(2, false));
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(Sent(), 1u);
  for (const auto& [position, result] : results_) {
    EXPECT_EQ(result.error().type(), "esgw_not_applied") << position;
    EXPECT_EQ(result.status(), 400);
    EXPECT_EQ(result.error().caused_by_type(), "illegal_argument_exception");
    EXPECT_THAT(result.error().reason(), HasSubstr("Malformed action/metadata"));
  }
  EXPECT_THAT(runner->request_failure(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("illegal_argument")));

  results_.clear();
  done_ = 0;
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok("", 413); });
  runner = Run(IndexOps(1, true));
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(results_[0].status(), 413);
  EXPECT_EQ(results_[0].error().type(), "esgw_not_applied");
  EXPECT_THAT(runner->request_failure(), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(BulkRunnerTest, GatewayErrorIsOutcomeUnknown) {
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok("<html>", 504); });
  auto runner = Run(IndexOps(1, false));
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(Sent(), 1u);
  EXPECT_EQ(results_[0].error().type(), "esgw_outcome_unknown");
  EXPECT_EQ(results_[0].status(), 504);
  EXPECT_THAT(runner->request_failure(), IsOk());
}

TEST_F(BulkRunnerTest, CancelWhileWaitingToResendReportsEachOpOnce) {
  Respond([](const Action& action, int) { return action.id == "2" ? 429 : 201; });
  auto runner = Run(IndexOps(3, true));
  ASSERT_EQ(results_.size(), 2u);
  ASSERT_EQ(timers_.pending(), 1u);
  runner->Cancel();
  ASSERT_EQ(done_, 1);
  ASSERT_EQ(results_.size(), 3u);
  EXPECT_EQ(results_[1].error().type(), "esgw_not_applied");
  EXPECT_EQ(results_[1].status(), 499);
  EXPECT_THAT(results_[1].error().reason(), HasSubstr("cancelled"));
  EXPECT_EQ(results_[1].attempts(), 1);
  EXPECT_EQ(timers_.pending(), 0u);
  runner->Cancel();
  clock_.Advance(absl::Seconds(10));
  timers_.RunDue();
  EXPECT_EQ(Sent(), 1u);
  EXPECT_EQ(results_.size(), 3u);
  EXPECT_EQ(done_, 1);
}

TEST_F(BulkRunnerTest, CancelAbortsTheBatchInFlightAndReportsQueuedOpsAsNotApplied) {
  BulkRunner::Options options = Options();
  options.settings.max_batch_ops = 2;
  auto runner = Run(IndexOps(4, false), options);
  ASSERT_EQ(Sent(), 1u);
  runner->Cancel();
  EXPECT_EQ(transport_.cancelled().size(), 1u);
  ASSERT_EQ(done_, 1);
  ASSERT_EQ(results_.size(), 4u);
  for (size_t position : {0, 1}) {
    EXPECT_EQ(results_[position].error().type(), "esgw_outcome_unknown") << position;
    EXPECT_EQ(results_[position].status(), 499);
  }
  for (size_t position : {2, 3}) {
    EXPECT_EQ(results_[position].error().type(), "esgw_not_applied") << position;
    EXPECT_EQ(results_[position].status(), 499);
    EXPECT_EQ(results_[position].attempts(), 0);
  }
  EXPECT_EQ(Sent(), 1u);
  EXPECT_THAT(runner->request_failure(), IsOk()) << "the first batch may have been applied";
}

TEST_F(BulkRunnerTest, CancelWhileTheDispatcherWaitsAfterAWholeRejectionFailsTheRequest) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Ok(kRejected, 429);  // the dispatcher waits to retry
  });
  auto runner = Run(IndexOps(2, false));
  ASSERT_EQ(done_, 0);
  runner->Cancel();
  ASSERT_EQ(done_, 1);
  for (const auto& [position, result] : results_) {
    EXPECT_EQ(result.error().type(), "esgw_not_applied") << position;
    EXPECT_EQ(result.status(), 499);
  }
  EXPECT_THAT(runner->request_failure(), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(BulkRunnerTest, SecondBatchFailsAtTheTransportAfterTheFirstSucceeded) {
  transport_.SetResponder([this](const Endpoint&, const HttpRequest& request) {
    if (exchanges_++ == 0) return FakeTransport::Ok(BulkBody(Actions(request.body), AllOk));
    return FakeTransport::Failed(TransportError::kConnectFailed);
  });
  BulkRunner::Options options = Options();
  options.settings.max_batch_ops = 2;
  auto runner = Run(IndexOps(4, false), options);
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(results_[0].status(), 200);
  EXPECT_EQ(results_[1].status(), 200);
  for (size_t position : {2, 3}) {
    EXPECT_EQ(results_[position].error().type(), "esgw_not_applied") << position;
    EXPECT_EQ(results_[position].status(), 503);
  }
  EXPECT_THAT(runner->request_failure(), IsOk()) << "some ops were applied";
  EXPECT_EQ(runner->stats().ok, 2);
  EXPECT_EQ(runner->stats().failed, 2);
}

TEST_F(BulkRunnerTest, LaterBatchesAfterTheDeadlineAreNotSent) {
  transport_.SetResponder([this](const Endpoint&, const HttpRequest& request) {
    clock_.Advance(absl::Seconds(6));
    return FakeTransport::Ok(BulkBody(Actions(request.body), AllOk));
  });
  BulkRunner::Options options = Options();
  options.settings.max_batch_ops = 1;
  options.deadline = clock_.Now() + absl::Seconds(5);
  auto runner = Run(IndexOps(2, false), options);
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(Sent(), 1u);
  EXPECT_EQ(results_[0].status(), 200);
  EXPECT_EQ(results_[1].error().type(), "esgw_not_applied");
  EXPECT_EQ(results_[1].status(), 504);
  EXPECT_EQ(results_[1].attempts(), 0);
}

TEST_F(BulkRunnerTest, StreamingCallerAddsOverTimeAndClosesAtTheEnd) {
  Respond([](const Action& action, int) { return AllOk(action); });
  auto runner = BulkRunner::Create(Options());
  ASSERT_THAT(runner, IsOk());
  ASSERT_THAT((*runner)->Add(IndexOps(2, true)), IsOk());
  EXPECT_EQ(results_.size(), 2u);
  ASSERT_THAT((*runner)->Add({Op(v1::OP_TYPE_DELETE, "1", 7)}), IsOk());
  EXPECT_EQ(results_.size(), 3u);
  EXPECT_EQ(results_[2].seq(), 7u);
  EXPECT_EQ(done_, 0);
  (*runner)->Close();
  EXPECT_EQ(done_, 1);
  EXPECT_THAT((*runner)->Add(IndexOps(1, true)), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ((*runner)->stats().ops, 3);
}

TEST_F(BulkRunnerTest, CallbacksMayCallBackIntoTheRunner) {
  Respond([](const Action& action, int) { return AllOk(action); });
  BulkRunner::Options options = Options();
  options.settings.max_batch_ops = 1;
  std::shared_ptr<BulkRunner> runner;
  auto on_result = options.on_result;
  options.on_result = [&runner, on_result](size_t position, v1::BulkItemResult result) {
    on_result(position, std::move(result));
    if (position == 0) runner->Cancel();
  };
  auto created = BulkRunner::Create(options);
  ASSERT_THAT(created, IsOk());
  runner = *created;
  ASSERT_THAT(runner->Add(IndexOps(3, true)), IsOk());
  ASSERT_EQ(done_, 1);
  EXPECT_EQ(Sent(), 1u);
  EXPECT_EQ(results_[0].status(), 200);
  EXPECT_EQ(results_[1].error().type(), "esgw_not_applied");
  EXPECT_EQ(results_[2].error().type(), "esgw_not_applied");
}

TEST_F(BulkRunnerTest, ConcurrentAddsCompletionsRetriesAndCancelReportEachOpOnce) {
  // Not a timing test: whatever the interleaving, every op added is reported exactly once and
  // on_done runs once.
  constexpr int kChunks = 20;
  constexpr int kChunkOps = 10;
  absl::Mutex mu;
  std::vector<int> reports(kChunks * kChunkOps, 0);
  std::atomic<int> done{0};
  BulkRunner::Options options = Options();
  options.settings.max_batch_ops = 7;
  options.on_result = [&](size_t position, v1::BulkItemResult) {
    absl::MutexLock lock(&mu);
    ++reports.at(position);
  };
  options.on_done = [&] { ++done; };
  auto created = BulkRunner::Create(options);
  ASSERT_THAT(created, IsOk());
  std::shared_ptr<BulkRunner> runner = *created;

  std::optional<Background> elasticsearch;
  elasticsearch.emplace(
      this,
      [](const Action& action, size_t exchange) {
        return (exchange + action.id.size()) % 3 == 0 ? 429 : 200;
      },
      absl::Milliseconds(50));
  int added = 0;
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    if (runner->Add(IndexOps(kChunkOps, true)).ok()) added += kChunkOps;
    if (chunk == kChunks / 2) runner->Cancel();
  }
  runner->Close();
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (done.load() == 0 && absl::Now() < give_up) std::this_thread::yield();
  elasticsearch.reset();

  ASSERT_EQ(done.load(), 1);
  EXPECT_EQ(added, (kChunks / 2 + 1) * kChunkOps) << "Add after Cancel is refused";
  absl::MutexLock lock(&mu);
  for (int position = 0; position < kChunks * kChunkOps; ++position) {
    EXPECT_EQ(reports[position], position < added ? 1 : 0) << position;
  }
}

TEST_F(BulkRunnerTest, NoOpsIsDoneAtClose) {
  auto runner = Run({});
  EXPECT_EQ(done_, 1);
  EXPECT_EQ(Sent(), 0u);
  EXPECT_THAT(runner->request_failure(), IsOk());
}

}  // namespace
}  // namespace esgw
