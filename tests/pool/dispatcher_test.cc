#include "pool/dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using testing::FakeClock;
using testing::FakeTransport;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Endpoint> seeds;
    for (int port : {9200, 9201, 9202}) seeds.push_back({"http", "127.0.0.1", port});
    auto dispatcher =
        Dispatcher::Create({.seeds = seeds, .transport = &transport_, .clock = &clock_});
    ASSERT_THAT(dispatcher, IsOk());
    dispatcher_ = *std::move(dispatcher);
  }

  // Runs a search and returns its result (the fake transport answers synchronously).
  Dispatcher::Result Run(absl::Duration budget = absl::Seconds(30)) {
    std::optional<Dispatcher::Result> out;
    HttpRequest request;
    request.method = HttpMethod::kPost;
    request.path = "/_search";
    dispatcher_->Execute(request, clock_.Now() + budget,
                         [&out](Dispatcher::Result result) { out = std::move(result); });
    EXPECT_TRUE(out.has_value());
    return out.has_value() ? *std::move(out) : Dispatcher::Result{};
  }

  FakeClock clock_;
  FakeTransport transport_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, CreateRejectsNoSeeds) {
  EXPECT_THAT(Dispatcher::Create({.seeds = {}, .transport = &transport_, .clock = &clock_}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(DispatcherTest, FirstSeedThatAnswersServes) {
  transport_.SetResponder([](const Endpoint& node, const HttpRequest&) {
    return node.port == 9200 ? FakeTransport::Failed(TransportError::kConnectFailed)
                             : FakeTransport::Ok(R"({"took":1})");
  });
  const Dispatcher::Result result = Run();
  EXPECT_THAT(Dispatcher::ResultStatus(result), IsOk());
  EXPECT_EQ(result.served_by, "127.0.0.1:9201");
  EXPECT_EQ(result.attempts, 2);
}

TEST_F(DispatcherTest, AllSeedsRefusingIsUnavailableNamingEachNode) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Failed(TransportError::kConnectFailed);
  });
  const Dispatcher::Result result = Run();
  EXPECT_EQ(result.attempts, 3);
  EXPECT_THAT(Dispatcher::ResultStatus(result),
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::AllOf(HasSubstr("127.0.0.1:9200"), HasSubstr("127.0.0.1:9202"))));
}

TEST_F(DispatcherTest, StaleConnectionIsRetriedOnceOnTheSameNode) {
  int calls = 0;
  transport_.SetResponder([&calls](const Endpoint&, const HttpRequest&) {
    return ++calls == 1 ? FakeTransport::Failed(TransportError::kStaleConnection, true)
                        : FakeTransport::Ok("{}");
  });
  const Dispatcher::Result result = Run();
  EXPECT_THAT(Dispatcher::ResultStatus(result), IsOk());
  EXPECT_EQ(result.served_by, "127.0.0.1:9200");
  EXPECT_EQ(result.attempts, 2);
}

TEST_F(DispatcherTest, SoftFailureAfterSendingIsNotMovedToAnotherNode) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Failed(TransportError::kConnectionLost);
  });
  const Dispatcher::Result result = Run();
  EXPECT_EQ(result.attempts, 1);
  EXPECT_THAT(Dispatcher::ResultStatus(result), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(DispatcherTest, ElasticsearchErrorsMapToTheirStatus) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Ok(
        R"({"error":{"root_cause":[],"type":"index_not_found_exception","reason":"no such index [x]"},"status":404})",
        404);
  });
  EXPECT_THAT(Dispatcher::ResultStatus(Run()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no such index [x]")));
}

TEST_F(DispatcherTest, ExpiredDeadlineSendsNothing) {
  const Dispatcher::Result result = Run(absl::ZeroDuration());
  EXPECT_THAT(Dispatcher::ResultStatus(result), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(transport_.exchanges().empty());
}

TEST_F(DispatcherTest, PerAttemptTimeoutIsWhatIsLeftOfTheDeadline) {
  transport_.SetResponder([this](const Endpoint&, const HttpRequest&) {
    clock_.Advance(absl::Seconds(2));
    return FakeTransport::Failed(TransportError::kConnectFailed);
  });
  Run(absl::Seconds(10));
  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 3u);
  EXPECT_EQ(exchanges[0].request.timeout, absl::Seconds(10));
  EXPECT_EQ(exchanges[1].request.timeout, absl::Seconds(8));
  EXPECT_EQ(exchanges[2].request.timeout, absl::Seconds(6));
}

TEST_F(DispatcherTest, CancelAbortsTheRunningExchange) {
  std::optional<Dispatcher::Result> out;
  auto call = dispatcher_->Execute(HttpRequest{}, clock_.Now() + absl::Seconds(5),
                                   [&out](Dispatcher::Result result) { out = std::move(result); });
  ASSERT_FALSE(out.has_value());
  call->Cancel();
  ASSERT_TRUE(out.has_value());
  EXPECT_THAT(Dispatcher::ResultStatus(*out), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(transport_.cancelled().size(), 1u);
  call->Cancel();  // again, after completion: harmless
}

}  // namespace
}  // namespace esgw
