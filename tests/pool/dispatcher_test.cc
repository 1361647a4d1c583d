// The Dispatcher over a real NodePool, with a scripted transport, a fake clock and a timer
// queue driven by hand: attempts, retries by failure class, delays, deadlines, cancellation.
#include "pool/dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "pool/error_info.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::testing::AllOf;
using testing::FakeClock;
using testing::FakeTransport;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;
using ::testing::UnorderedElementsAre;

constexpr char kRejected[] =
    R"({"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"queue full"}],)"
    R"("type":"es_rejected_execution_exception","reason":"queue full"},"status":429})";

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<NodeInfo> seeds;
    for (int port : {9200, 9201, 9202}) {
      seeds.push_back({.endpoint = {"http", "127.0.0.1", port}});
    }
    auto pool = NodePool::Create(
        {.selector = SelectorKind::kRoundRobin, .random_seed = 7, .clock = &clock_}, seeds);
    ASSERT_THAT(pool, IsOk());
    pool_ = *std::move(pool);
    auto dispatcher = Dispatcher::Create({.pool = pool_.get(),
                                          .transport = &transport_,
                                          .timers = &timers_,
                                          .clock = &clock_,
                                          .random_seed = 7,
                                          .on_node_failure = [this] { ++node_failures_; }});
    ASSERT_THAT(dispatcher, IsOk());
    dispatcher_ = *std::move(dispatcher);
  }

  std::shared_ptr<Dispatcher::Call> Start(bool idempotent = true,
                                          absl::Duration budget = absl::Seconds(30)) {
    HttpRequest request;
    request.method = HttpMethod::kPost;
    request.path = "/_search";
    return dispatcher_->Execute(request, idempotent, clock_.Now() + budget,
                                [this](Dispatcher::Result result) {
                                  ASSERT_FALSE(result_.has_value()) << "reported twice";
                                  result_ = std::move(result);
                                });
  }

  // Runs a request against the responder and returns its result.
  Dispatcher::Result Run(bool idempotent = true, absl::Duration budget = absl::Seconds(30)) {
    Start(idempotent, budget);
    EXPECT_TRUE(result_.has_value());
    return result_.has_value() ? *result_ : Dispatcher::Result{};
  }

  NodeState StateOf(int port) {
    for (const auto& node : pool_->Snapshot().nodes) {
      if (node.info.endpoint.port == port) return node.state;
    }
    ADD_FAILURE() << "no node " << port;
    return NodeState::kAlive;
  }

  FakeClock clock_;
  FakeTransport transport_;
  TimerQueue timers_{&clock_};
  std::unique_ptr<NodePool> pool_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::optional<Dispatcher::Result> result_;
  int node_failures_ = 0;
};

TEST_F(DispatcherTest, CreateRejectsMissingParts) {
  EXPECT_THAT(Dispatcher::Create({.pool = nullptr, .transport = &transport_, .timers = &timers_}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DispatcherTest, SuccessIsServedByTheLeasedNode) {
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok(R"({"took":1})"); });
  const Dispatcher::Result result = Run();
  EXPECT_THAT(Dispatcher::ResultStatus(result), IsOk());
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.served_by, transport_.exchanges()[0].node.HostPort());
}

TEST_F(DispatcherTest, HardFailureEjectsTheNodeAndMovesOnEvenWhenNotIdempotent) {
  transport_.SetResponder([](const Endpoint& node, const HttpRequest&) {
    return node.port == 9200 ? FakeTransport::Failed(TransportError::kConnectFailed)
                             : FakeTransport::Ok("{}");
  });
  const Dispatcher::Result result = Run(/*idempotent=*/false);
  EXPECT_THAT(Dispatcher::ResultStatus(result), IsOk());
  EXPECT_EQ(result.attempts, 2);
  EXPECT_NE(result.served_by, "127.0.0.1:9200");
  EXPECT_EQ(StateOf(9200), NodeState::kDead);
  EXPECT_EQ(node_failures_, 1);
}

TEST_F(DispatcherTest, EveryNodeRefusingIsUnavailableNamingEachNodeAndFast) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Failed(TransportError::kConnectFailed);
  });
  const Dispatcher::Result result = Run();
  EXPECT_EQ(result.attempts, 3) << "each node once, then nothing is left";
  EXPECT_THAT(Dispatcher::ResultStatus(result),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("127.0.0.1:9200"), HasSubstr("127.0.0.1:9201"),
                             HasSubstr("127.0.0.1:9202"))));
  EXPECT_FALSE(pool_->HasUsableNode());
}

TEST_F(DispatcherTest, StaleConnectionIsRetriedOnceOnTheSameNodeWithoutBlame) {
  int calls = 0;
  transport_.SetResponder([&calls](const Endpoint&, const HttpRequest&) {
    return ++calls == 1 ? FakeTransport::Failed(TransportError::kStaleConnection, true)
                        : FakeTransport::Ok("{}");
  });
  const Dispatcher::Result result = Run(/*idempotent=*/false);
  EXPECT_THAT(Dispatcher::ResultStatus(result), IsOk());
  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 2u);
  EXPECT_EQ(exchanges[0].node, exchanges[1].node);
  EXPECT_EQ(node_failures_, 0);
}

TEST_F(DispatcherTest, SoftFailureMovesToAnotherNodeOnlyWhenIdempotent) {
  transport_.SetResponder([](const Endpoint& node, const HttpRequest&) {
    return node.port == 9200 ? FakeTransport::Failed(TransportError::kConnectionLost)
                             : FakeTransport::Ok("{}");
  });
  Dispatcher::Result result = Run(/*idempotent=*/true);
  EXPECT_THAT(Dispatcher::ResultStatus(result), IsOk());
  EXPECT_EQ(result.attempts, 2);

  result_.reset();
  // Round robin comes back to 9200 after 9201 and 9202 served; send twice to land there.
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Failed(TransportError::kConnectionLost);
  });
  result = Run(/*idempotent=*/false);
  EXPECT_EQ(result.attempts, 1) << "a write that may have reached the node is not resent";
  EXPECT_THAT(Dispatcher::ResultStatus(result), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(DispatcherTest, GatewayErrorsAreRetriedElsewhereAndReportedWhenAllFail) {
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok("<html>", 502); });
  const Dispatcher::Result result = Run();
  // Soft failures eject only at the third in a row, so every node stays selectable and the
  // request uses all of max_retries (3): four attempts, no node twice in a row.
  EXPECT_EQ(result.attempts, 4);
  EXPECT_THAT(Dispatcher::ResultStatus(result), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(DispatcherTest, ATwoHundredThatIsNotElasticsearchsIsRetriedElsewhere) {
  transport_.SetResponder([](const Endpoint& node, const HttpRequest&) {
    HttpResponse response = FakeTransport::Ok(R"({"took":1})");
    if (node.port == 9200) {
      response.body = "<html>proxy error</html>";
      response.content_type = "text/html";
    }
    return response;
  });
  const Dispatcher::Result result = Run();
  EXPECT_THAT(Dispatcher::ResultStatus(result), IsOk());
  EXPECT_EQ(result.attempts, 2);
  EXPECT_NE(result.served_by, "127.0.0.1:9200");
  EXPECT_EQ(node_failures_, 1);

  // From every node: UNAVAILABLE, saying what the answers were.
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    HttpResponse response = FakeTransport::Ok("");
    return response;
  });
  result_.reset();
  EXPECT_THAT(Dispatcher::ResultStatus(Run()),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("HTTP 200 that is not an Elasticsearch answer"),
                             HasSubstr("the body is empty"))));
}

TEST_F(DispatcherTest, AnAnswerTooLargeIsResourceExhaustedNotRetriedAndBlamesNoNode) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    HttpResponse response = FakeTransport::Failed(TransportError::kResponseTooLarge);
    response.error_message = "response body larger than max_response_bytes (1024 bytes)";
    return response;
  });
  const Dispatcher::Result result = Run();
  EXPECT_EQ(result.attempts, 1);
  const absl::Status status = Dispatcher::ResultStatus(result);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted,
                               HasSubstr("larger than max_response_bytes (1024 bytes)")));
  EXPECT_EQ(GetErrorInfo(status).reason, "LIMIT_EXCEEDED");
  EXPECT_EQ(GetErrorInfo(status).metadata.at("limit"), "max_response_bytes");
  EXPECT_EQ(node_failures_, 0);
  for (int port : {9200, 9201, 9202}) EXPECT_EQ(StateOf(port), NodeState::kAlive);
}

TEST_F(DispatcherTest, BackpressureWaitsBeforeRetryingAndNeverEjects) {
  int calls = 0;
  transport_.SetResponder([&calls](const Endpoint&, const HttpRequest&) {
    return ++calls == 1 ? FakeTransport::Ok(kRejected, 429) : FakeTransport::Ok("{}");
  });
  Start();
  EXPECT_FALSE(result_.has_value()) << "the retry waits on the timer queue";
  EXPECT_EQ(timers_.pending(), 1u);
  clock_.Advance(absl::Seconds(1));
  timers_.RunDue();
  ASSERT_TRUE(result_.has_value());
  EXPECT_THAT(Dispatcher::ResultStatus(*result_), IsOk());
  EXPECT_EQ(result_->attempts, 2);
  for (int port : {9200, 9201, 9202}) EXPECT_EQ(StateOf(port), NodeState::kAlive);
  EXPECT_EQ(node_failures_, 0);
  EXPECT_EQ(pool_->Snapshot().retries_total, 1);
}

TEST_F(DispatcherTest, RetryAfterIsHonoured) {
  int calls = 0;
  transport_.SetResponder([&calls](const Endpoint&, const HttpRequest&) {
    HttpResponse response = FakeTransport::Ok(kRejected, 429);
    response.retry_after = "3";
    return ++calls == 1 ? response : FakeTransport::Ok("{}");
  });
  Start();
  clock_.Advance(absl::Milliseconds(2900));
  timers_.RunDue();
  EXPECT_FALSE(result_.has_value());
  clock_.Advance(absl::Milliseconds(100));
  timers_.RunDue();
  ASSERT_TRUE(result_.has_value());
  EXPECT_THAT(Dispatcher::ResultStatus(*result_), IsOk());
}

TEST_F(DispatcherTest, CancelWhileWaitingToRetryReportsAtOnce) {
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok(kRejected, 429); });
  auto call = Start();
  ASSERT_FALSE(result_.has_value());
  call->Cancel();
  ASSERT_TRUE(result_.has_value());
  EXPECT_THAT(Dispatcher::ResultStatus(*result_), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(timers_.pending(), 0u);
}

TEST_F(DispatcherTest, PersistentBackpressureEndsAsResourceExhausted) {
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok(kRejected, 429); });
  Start();
  for (int i = 0; i < 20 && !result_.has_value(); ++i) {
    clock_.Advance(absl::Seconds(5));
    timers_.RunDue();
  }
  ASSERT_TRUE(result_.has_value());
  EXPECT_EQ(result_->attempts, 4) << "the first attempt and max_retries (3) retries";
  EXPECT_THAT(Dispatcher::ResultStatus(*result_),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("es_rejected")));
}

TEST_F(DispatcherTest, ElasticsearchErrorsAreNotRetriedAndMapToTheirStatus) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Ok(
        R"({"error":{"root_cause":[],"type":"index_not_found_exception","reason":"no such index [x]"},"status":404})",
        404);
  });
  const Dispatcher::Result result = Run();
  EXPECT_EQ(result.attempts, 1);
  EXPECT_THAT(Dispatcher::ResultStatus(result),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no such index [x]")));
}

TEST_F(DispatcherTest, ExpiredDeadlineSendsNothing) {
  const Dispatcher::Result result = Run(true, absl::ZeroDuration());
  EXPECT_THAT(Dispatcher::ResultStatus(result), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(transport_.exchanges().empty());
}

TEST_F(DispatcherTest, PerAttemptTimeoutIsWhatIsLeftOfTheDeadline) {
  transport_.SetResponder([this](const Endpoint&, const HttpRequest&) {
    clock_.Advance(absl::Seconds(2));
    return FakeTransport::Failed(TransportError::kConnectFailed);
  });
  Run(true, absl::Seconds(10));
  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 3u);
  EXPECT_EQ(exchanges[0].request.timeout, absl::Seconds(10));
  EXPECT_EQ(exchanges[1].request.timeout, absl::Seconds(8));
  EXPECT_EQ(exchanges[2].request.timeout, absl::Seconds(6));
  EXPECT_THAT(
      std::vector<int>({exchanges[0].node.port, exchanges[1].node.port, exchanges[2].node.port}),
      UnorderedElementsAre(9200, 9201, 9202))
      << "never the same node twice while another is usable";
}

TEST_F(DispatcherTest, AttemptTimeoutCutsIdempotentAttemptsShortAndRetriesElsewhere) {
  auto dispatcher = Dispatcher::Create({.pool = pool_.get(),
                                        .transport = &transport_,
                                        .timers = &timers_,
                                        .clock = &clock_,
                                        .retry = {.attempt_timeout = absl::Seconds(1)},
                                        .random_seed = 7,
                                        .on_node_failure = [this] { ++node_failures_; }});
  ASSERT_THAT(dispatcher, IsOk());
  dispatcher_ = *std::move(dispatcher);
  // Two hung nodes: the transport gives up on an exchange when its timeout has passed.
  transport_.SetResponder([this](const Endpoint& node, const HttpRequest& request) {
    if (node.port == 9202) return FakeTransport::Ok(R"({"took":1})");
    clock_.Advance(request.timeout);
    return FakeTransport::Failed(TransportError::kTimeout);
  });
  const Dispatcher::Result result = Run(/*idempotent=*/true, absl::Seconds(10));
  EXPECT_THAT(Dispatcher::ResultStatus(result), IsOk());
  EXPECT_EQ(result.served_by, "127.0.0.1:9202");
  for (const auto& exchange : transport_.exchanges()) {
    EXPECT_EQ(exchange.request.timeout, absl::Seconds(1)) << exchange.node.HostPort();
  }
  EXPECT_TRUE(result.earlier_attempt_may_have_applied) << "a timed-out attempt may have applied";
  EXPECT_EQ(node_failures_, result.attempts - 1) << "each cut attempt counts against its node";

  // Not idempotent: the attempt keeps all the time left, and a timeout is final.
  result_.reset();
  transport_.SetResponder([this](const Endpoint&, const HttpRequest& request) {
    clock_.Advance(request.timeout);
    return FakeTransport::Failed(TransportError::kTimeout);
  });
  const size_t before = transport_.exchanges().size();
  const Dispatcher::Result write = Run(/*idempotent=*/false, absl::Seconds(10));
  ASSERT_EQ(transport_.exchanges().size(), before + 1);
  EXPECT_EQ(transport_.exchanges().back().request.timeout, absl::Seconds(10));
  EXPECT_THAT(Dispatcher::ResultStatus(write), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(DispatcherTest, AttemptTimeoutNeverOutlastsTheDeadline) {
  auto dispatcher = Dispatcher::Create({.pool = pool_.get(),
                                        .transport = &transport_,
                                        .timers = &timers_,
                                        .clock = &clock_,
                                        .retry = {.attempt_timeout = absl::Seconds(4)},
                                        .random_seed = 7});
  ASSERT_THAT(dispatcher, IsOk());
  dispatcher_ = *std::move(dispatcher);
  transport_.SetResponder([this](const Endpoint&, const HttpRequest& request) {
    clock_.Advance(request.timeout);
    return FakeTransport::Failed(TransportError::kTimeout);
  });
  const Dispatcher::Result result = Run(/*idempotent=*/true, absl::Seconds(6));
  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 2u);
  EXPECT_EQ(exchanges[0].request.timeout, absl::Seconds(4));
  EXPECT_EQ(exchanges[1].request.timeout, absl::Seconds(2)) << "what is left of the deadline";
  EXPECT_THAT(Dispatcher::ResultStatus(result), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(DispatcherTest, CancelAbortsTheRunningExchange) {
  auto call = Start();
  ASSERT_FALSE(result_.has_value());
  call->Cancel();
  ASSERT_TRUE(result_.has_value());
  EXPECT_THAT(Dispatcher::ResultStatus(*result_), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(transport_.cancelled().size(), 1u);
  call->Cancel();  // again, after completion: harmless
  for (const auto& node : pool_->Snapshot().nodes) EXPECT_EQ(node.in_flight, 0);
}

TEST_F(DispatcherTest, CancelBlamesNoNode) {
  for (int i = 0; i < 5; ++i) {
    result_.reset();
    Start()->Cancel();
  }
  for (const auto& node : pool_->Snapshot().nodes) {
    EXPECT_EQ(node.state, NodeState::kAlive);
    EXPECT_EQ(node.failures_total, 0);
  }
  EXPECT_EQ(node_failures_, 0);
}

TEST_F(DispatcherTest, ExpiredDeadlineCountsAsATimeoutOfTheNodeThatHeldTheRequest) {
  // A hung node: the caller's deadline fires before the transport's timeout could. Each
  // expiry is a soft failure of the node that held the request, so the pool ejects it after
  // soft_failure_threshold (3) in a row, instead of never learning that it hangs.
  for (int i = 0; i < 3; ++i) {
    result_.reset();
    auto call = Start(/*idempotent=*/true, absl::Seconds(5));
    clock_.Advance(absl::Seconds(5));
    call->ExpireDeadline();
    ASSERT_TRUE(result_.has_value());
    EXPECT_THAT(Dispatcher::ResultStatus(*result_),
                StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("deadline")));
    EXPECT_EQ(result_->attempts, 1) << "no retry once the deadline has passed";
  }
  EXPECT_EQ(node_failures_, 3);
  int soft_failures = 0;
  for (const auto& node : pool_->Snapshot().nodes) soft_failures += node.failures_total;
  EXPECT_EQ(soft_failures, 3);
}

TEST_F(DispatcherTest, ExpiredDeadlineWhileWaitingToRetryIsDeadlineExceeded) {
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok(kRejected, 429); });
  auto call = Start();
  ASSERT_FALSE(result_.has_value()) << "a backpressure retry waits on the timer queue";
  call->ExpireDeadline();
  ASSERT_TRUE(result_.has_value());
  EXPECT_THAT(Dispatcher::ResultStatus(*result_), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

}  // namespace
}  // namespace esgw
