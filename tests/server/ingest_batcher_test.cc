// The IngestBatcher over a real Dispatcher and NodePool, with a scripted _bulk endpoint, a fake
// clock and a timer queue driven by hand: cutting batches by count and flush interval, the bound
// on batches in flight, write order per document, seq checks, Close and Cancel.
#include "server/ingest_batcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <optional>
#include <thread>

#include "tests/support/fake_bulk.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using testing::Action;
using testing::Actions;
using testing::AllOk;
using testing::BulkBody;
using ::testing::ElementsAre;
using testing::FakeTransport;
using ::testing::HasSubstr;
using testing::Ids;
using testing::IndexOps;
using testing::IsOk;
using testing::Op;
using testing::StatusIs;

class IngestBatcherTest : public testing::FakeBulkCluster {
 protected:
  IngestBatcher::Options Options() {
    IngestBatcher::Options options;
    options.dispatcher = dispatcher_.get();
    options.timers = &timers_;
    options.clock = &clock_;
    options.bulk.max_batch_ops = 3;
    options.ingest.flush_interval = absl::Milliseconds(100);
    options.ingest.max_concurrent_batches = 2;
    options.random_seed = 5;
    options.on_result = [this](v1::BulkItemResult result, size_t op_bytes) {
      EXPECT_GT(op_bytes, 0u);
      absl::MutexLock lock(&mu_);
      EXPECT_EQ(done_, 0) << "a result after on_done";
      EXPECT_FALSE(results_.contains(result.seq())) << "seq " << result.seq() << " twice";
      results_[result.seq()] = std::move(result);
    };
    options.on_done = [this] {
      absl::MutexLock lock(&mu_);
      ++done_;
    };
    return options;
  }

  std::shared_ptr<IngestBatcher> Make(IngestBatcher::Options options) {
    auto batcher = IngestBatcher::Create(std::move(options));
    EXPECT_THAT(batcher, IsOk());
    return batcher.ok() ? *batcher : nullptr;
  }
  std::shared_ptr<IngestBatcher> Make() { return Make(Options()); }

  // Index ops with the given ids and seq first, first+1, ...
  static std::vector<EncodedOp> OpsWithIds(const std::vector<std::string>& ids, uint64_t first) {
    std::vector<EncodedOp> ops;
    for (const std::string& id : ids) ops.push_back(Op(v1::OP_TYPE_INDEX, id, first++));
    return ops;
  }

  void Tick(absl::Duration step) {
    clock_.Advance(step);
    timers_.RunDue();
  }

  size_t Results() {
    absl::MutexLock lock(&mu_);
    return results_.size();
  }
  int Done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }

  absl::Mutex mu_;
  std::map<uint64_t, v1::BulkItemResult> results_ ABSL_GUARDED_BY(mu_);
  int done_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(IngestBatcherTest, SettingsAreValidated) {
  BulkSettings bulk;
  IngestSettings ingest;
  EXPECT_THAT(ValidateIngestSettings(ingest, bulk), IsOk());
  ingest.max_concurrent_batches = 0;
  EXPECT_THAT(ValidateIngestSettings(ingest, bulk),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ingest_max_concurrent")));
  ingest = {};
  ingest.max_buffer_bytes = bulk.max_batch_bytes - 1;
  EXPECT_THAT(ValidateIngestSettings(ingest, bulk),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ingest_max_buffer_bytes")));
  ingest = {};
  ingest.flush_interval = absl::Milliseconds(-1);
  EXPECT_THAT(ValidateIngestSettings(ingest, bulk),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ingest_flush_interval")));
  IngestBatcher::Options options = Options();
  options.on_result = nullptr;
  EXPECT_THAT(IngestBatcher::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(IngestBatcherTest, FullBatchesGoAtOnceAndTheRestAfterTheFlushInterval) {
  Respond([](const Action& action, int) { return AllOk(action); });
  auto batcher = Make();
  ASSERT_THAT(batcher->Add(IndexOps(7, false)), IsOk());
  ASSERT_EQ(Sent(), 2u) << "two full batches of 3";
  EXPECT_EQ(Results(), 6u);
  Tick(absl::Milliseconds(99));
  EXPECT_EQ(Sent(), 2u) << "the seventh op waits for the flush interval";
  Tick(absl::Milliseconds(1));
  ASSERT_EQ(Sent(), 3u);
  EXPECT_EQ(Actions(transport_.exchanges()[2].request.body).size(), 1u);
  EXPECT_EQ(Results(), 7u);
  EXPECT_EQ(Done(), 0) << "not closed";
  batcher->Close();
  EXPECT_EQ(Done(), 1);
  const IngestBatcher::Stats stats = batcher->stats();
  EXPECT_EQ(stats.ops, 7);
  EXPECT_EQ(stats.ok, 7);
  EXPECT_EQ(stats.batches, 3);
  EXPECT_GT(stats.bytes, 0);
}

TEST_F(IngestBatcherTest, FlushIntervalCountsFromTheOldestWaitingOp) {
  Respond([](const Action& action, int) { return AllOk(action); });
  auto batcher = Make();
  ASSERT_THAT(batcher->Add(IndexOps(1, false)), IsOk());
  Tick(absl::Milliseconds(60));
  std::vector<EncodedOp> second = IndexOps(1, false);
  second[0].seq = 1;
  ASSERT_THAT(batcher->Add(std::move(second)), IsOk());
  EXPECT_EQ(Sent(), 0u);
  Tick(absl::Milliseconds(40));
  ASSERT_EQ(Sent(), 1u) << "100 ms after the first op, both go";
  EXPECT_EQ(Actions(transport_.exchanges()[0].request.body).size(), 2u);
}

TEST_F(IngestBatcherTest, CloseSendsWhatWaitsWithoutTheFlushInterval) {
  Respond([](const Action& action, int) { return AllOk(action); });
  auto batcher = Make();
  ASSERT_THAT(batcher->Add(IndexOps(2, true)), IsOk());
  EXPECT_EQ(Sent(), 0u);
  batcher->Close();
  EXPECT_EQ(Sent(), 1u);
  EXPECT_EQ(Results(), 2u);
  EXPECT_EQ(Done(), 1);
  EXPECT_THAT(batcher->Add(IndexOps(1, true)), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(IngestBatcherTest, NoMoreThanMaxConcurrentBatchesAreInFlight) {
  IngestBatcher::Options options = Options();
  options.bulk.max_batch_ops = 1;
  auto batcher = Make(options);
  ASSERT_THAT(batcher->Add(IndexOps(5, false)), IsOk());
  batcher->Close();
  EXPECT_EQ(Sent(), 2u);
  Answer(1);
  EXPECT_EQ(Sent(), 3u) << "a slot freed";
  Answer(0);
  Answer(2);
  EXPECT_EQ(Sent(), 5u);
  Answer(3);
  Answer(4);
  EXPECT_EQ(Results(), 5u);
  EXPECT_EQ(Done(), 1);
}

TEST_F(IngestBatcherTest, AnOpOnADocumentInFlightWaitsAndOthersGoPastIt) {
  IngestBatcher::Options options = Options();
  options.bulk.max_batch_ops = 2;
  options.ingest.max_concurrent_batches = 3;
  auto batcher = Make(options);
  ASSERT_THAT(batcher->Add(OpsWithIds({"a", "b"}, 0)), IsOk());
  ASSERT_THAT(batcher->Add(OpsWithIds({"a", "c", "d", "a", "e"}, 2)), IsOk());
  ASSERT_EQ(Sent(), 3u);
  // "a" is busy in the first batch: its later ops wait, in order, and the others go past.
  EXPECT_THAT(Ids(transport_.exchanges()[0].request), ElementsAre("a", "b"));
  EXPECT_THAT(Ids(transport_.exchanges()[1].request), ElementsAre("c", "d"));
  EXPECT_THAT(Ids(transport_.exchanges()[2].request), ElementsAre("e"));
  batcher->Close();
  EXPECT_EQ(Sent(), 3u) << "only writes to a are left, and a is busy";
  Answer(0);
  ASSERT_EQ(Sent(), 4u);
  EXPECT_THAT(Ids(transport_.exchanges()[3].request), ElementsAre("a", "a"))
      << "both waiting writes to a, in their order, once the first is done";
  Answer(1);
  Answer(2);
  Answer(3);
  EXPECT_EQ(Results(), 7u);
  EXPECT_EQ(Done(), 1);
}

TEST_F(IngestBatcherTest, OpsWithoutIdsNeverWait) {
  IngestBatcher::Options options = Options();
  options.bulk.max_batch_ops = 1;
  auto batcher = Make(options);
  ASSERT_THAT(batcher->Add(IndexOps(2, false)), IsOk());
  EXPECT_EQ(Sent(), 2u);
  batcher->Cancel();
}

TEST_F(IngestBatcherTest, ASeqStillInProgressIsRefusedAndMayBeReusedOnceReported) {
  auto batcher = Make();
  ASSERT_THAT(batcher->Add(OpsWithIds({"a"}, 1)), IsOk());
  EXPECT_THAT(batcher->Add(OpsWithIds({"b", "c"}, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ops[1].seq")));
  std::vector<EncodedOp> twice = OpsWithIds({"d", "e"}, 7);
  twice[1].seq = 7;
  EXPECT_THAT(batcher->Add(std::move(twice)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seq 7")));
  EXPECT_EQ(batcher->stats().ops, 1) << "a refused message adds none of its ops";
  Tick(absl::Milliseconds(100));
  Answer(0);
  EXPECT_EQ(Results(), 1u);
  {
    absl::MutexLock lock(&mu_);
    results_.clear();
  }
  EXPECT_THAT(batcher->Add(OpsWithIds({"b"}, 1)), IsOk());
  // The refused messages left none of their seqs open: 0 (taken before the repeat) and 7 are
  // free.
  EXPECT_THAT(batcher->Add(OpsWithIds({"f"}, 0)), IsOk());
  EXPECT_THAT(batcher->Add(OpsWithIds({"g"}, 7)), IsOk());
  batcher->Cancel();
}

TEST_F(IngestBatcherTest, RejectedItemsAreResentAndEveryOpIsReportedOnce) {
  Respond([](const Action& action, int exchange) {
    return exchange == 0 && action.id == "2" ? 429 : AllOk(action);
  });
  auto batcher = Make();
  ASSERT_THAT(batcher->Add(OpsWithIds({"1", "2", "3"}, 0)), IsOk());
  batcher->Close();
  for (int i = 0; i < 100 && Done() == 0; ++i) Tick(absl::Milliseconds(50));
  ASSERT_EQ(Done(), 1);
  absl::MutexLock lock(&mu_);
  ASSERT_EQ(results_.size(), 3u);
  EXPECT_EQ(results_[1].status(), 200);
  EXPECT_EQ(results_[1].attempts(), 2);
  EXPECT_EQ(results_[0].attempts(), 1);
  EXPECT_EQ(batcher->stats().retried, 1);
  EXPECT_EQ(batcher->stats().failed, 0);
}

TEST_F(IngestBatcherTest, CancelReportsWaitingOpsAsNotAppliedAndStopsBatchesInFlight) {
  IngestBatcher::Options options = Options();
  options.bulk.max_batch_ops = 1;
  options.ingest.max_concurrent_batches = 1;
  auto batcher = Make(options);
  ASSERT_THAT(batcher->Add(IndexOps(3, false)), IsOk());
  ASSERT_EQ(Sent(), 1u);
  batcher->Cancel();
  EXPECT_EQ(transport_.cancelled().size(), 1u);
  ASSERT_EQ(Done(), 1);
  absl::MutexLock lock(&mu_);
  ASSERT_EQ(results_.size(), 3u);
  EXPECT_EQ(results_[0].error().type(), "esgw_outcome_unknown") << "it was on its way";
  for (uint64_t seq : {1, 2}) {
    EXPECT_EQ(results_[seq].error().type(), "esgw_not_applied");
    EXPECT_EQ(results_[seq].status(), 499);
  }
}

TEST_F(IngestBatcherTest, EachBatchEndsWithinTheBatchTimeout) {
  IngestBatcher::Options options = Options();
  options.ingest.batch_timeout = absl::Seconds(2);
  options.deadline = clock_.Now() + absl::Seconds(60);
  auto batcher = Make(options);
  ASSERT_THAT(batcher->Add(IndexOps(3, true)), IsOk());
  ASSERT_EQ(Sent(), 1u);
  EXPECT_EQ(transport_.exchanges()[0].request.timeout, absl::Seconds(2))
      << "the batch's budget, not the stream's";
  batcher->Cancel();
}

TEST_F(IngestBatcherTest, ConcurrentAddsAndCompletionsReportEachOpOnce) {
  // Not a timing test: whatever the interleaving, every op added is reported exactly once and
  // on_done runs once.
  constexpr int kMessages = 40;
  constexpr int kOpsPerMessage = 25;
  IngestBatcher::Options options = Options();
  options.bulk.max_batch_ops = 16;
  options.ingest.max_concurrent_batches = 3;
  auto batcher = Make(options);
  std::optional<Background> elasticsearch;
  elasticsearch.emplace(
      this,
      [](const Action& action, size_t exchange) {
        return (exchange + action.id.size()) % 4 == 0 ? 429 : 201;
      },
      absl::Milliseconds(20));
  uint64_t seq = 0;
  for (int message = 0; message < kMessages; ++message) {
    std::vector<EncodedOp> ops;
    for (int i = 0; i < kOpsPerMessage; ++i, ++seq) {
      // A few documents written again and again, so that ops wait on busy documents.
      ops.push_back(Op(v1::OP_TYPE_INDEX, absl::StrCat("doc-", seq % 37), seq));
    }
    ASSERT_THAT(batcher->Add(std::move(ops)), IsOk());
  }
  batcher->Close();
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (Done() == 0 && absl::Now() < give_up) std::this_thread::yield();
  elasticsearch.reset();
  ASSERT_EQ(Done(), 1);
  EXPECT_EQ(Results(), static_cast<size_t>(kMessages * kOpsPerMessage));
  const IngestBatcher::Stats stats = batcher->stats();
  EXPECT_EQ(stats.ok + stats.failed, kMessages * kOpsPerMessage);
}

TEST_F(IngestBatcherTest, NothingAddedIsDoneAtClose) {
  auto batcher = Make();
  batcher->Close();
  EXPECT_EQ(Done(), 1);
  EXPECT_EQ(Sent(), 0u);
}

}  // namespace
}  // namespace esgw
