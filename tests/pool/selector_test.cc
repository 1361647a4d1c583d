#include "pool/selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using testing::IsOk;
using testing::StatusIs;

SelectorCandidate Cand(uint64_t serial, int64_t in_flight = 0, double latency_ms = 10,
                       double weight = 1, bool has_latency = true) {
  SelectorCandidate c;
  c.serial = serial;
  c.in_flight = in_flight;
  c.latency_ms = latency_ms;
  c.has_latency = has_latency;
  c.weight = weight;
  return c;
}

std::vector<int> Count(Selector& selector, const std::vector<SelectorCandidate>& candidates,
                       int picks, uint64_t seed = 3) {
  std::mt19937_64 gen(seed);
  std::vector<int> counts(candidates.size());
  for (int i = 0; i < picks; ++i) ++counts[selector.Pick(candidates, gen)];
  return counts;
}

TEST(SelectorTest, ParseAndName) {
  for (SelectorKind k : {SelectorKind::kLeastLoaded, SelectorKind::kRoundRobin,
                         SelectorKind::kSticky, SelectorKind::kRandom}) {
    ASSERT_THAT(ParseSelectorKind(SelectorKindName(k)), IsOk());
    EXPECT_EQ(*ParseSelectorKind(SelectorKindName(k)), k);
  }
  EXPECT_THAT(ParseSelectorKind("fastest"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("least_loaded")));
}

TEST(SelectorTest, LeastLoadedCostIsInFlightTimesLatency) {
  EXPECT_DOUBLE_EQ(LeastLoadedCost(Cand(1, 0, 10), 99), 10);
  EXPECT_DOUBLE_EQ(LeastLoadedCost(Cand(1, 4, 10), 99), 50);
  EXPECT_DOUBLE_EQ(LeastLoadedCost(Cand(1, 0, 10, 0.5), 99), 10);
  EXPECT_DOUBLE_EQ(LeastLoadedCost(Cand(1, 1, 10, 1, false), 7), 14);
}

TEST(SelectorTest, LeastLoadedAlwaysTakesTheCheaperOfTwo) {
  auto selector = Selector::Create(SelectorKind::kLeastLoaded);
  const std::vector<int> counts = Count(*selector, {Cand(1, 3, 10), Cand(2, 0, 10)}, 1000);
  EXPECT_EQ(counts[1], 1000);
}

TEST(SelectorTest, LeastLoadedSplitsTiesAtRandom) {
  auto selector = Selector::Create(SelectorKind::kLeastLoaded);
  const std::vector<int> counts = Count(*selector, {Cand(1), Cand(2)}, 1000);
  EXPECT_GT(counts[0], 400);
  EXPECT_GT(counts[1], 400);
}

TEST(SelectorTest, LeastLoadedJudgesANodeWithoutLatencyByTheOthers) {
  auto selector = Selector::Create(SelectorKind::kLeastLoaded);
  // Unknown latency, idle, against a 1 ms node with 5 in flight: the idle one wins.
  const std::vector<int> counts = Count(*selector, {Cand(1, 0, 0, 1, false), Cand(2, 5, 1)}, 200);
  EXPECT_EQ(counts[0], 200);
}

TEST(SelectorTest, LeastLoadedSpreadsOverManyNodes) {
  auto selector = Selector::Create(SelectorKind::kLeastLoaded);
  std::vector<SelectorCandidate> c;
  for (uint64_t i = 1; i <= 30; ++i) c.push_back(Cand(i));
  c[7].in_flight = 100;  // busy
  const std::vector<int> counts = Count(*selector, c, 3000);
  EXPECT_EQ(counts[7], 0);
  for (size_t i = 0; i < c.size(); ++i) {
    if (i == 7) continue;
    EXPECT_GT(counts[i], 40) << i;
  }
}

TEST(SelectorTest, RoundRobinFollowsPoolOrderAcrossChangingCandidates) {
  auto selector = Selector::Create(SelectorKind::kRoundRobin);
  std::mt19937_64 gen(1);
  const std::vector<SelectorCandidate> all = {Cand(1), Cand(2), Cand(3)};
  EXPECT_EQ(selector->Pick(all, gen), 0u);
  EXPECT_EQ(selector->Pick(all, gen), 1u);
  // Serial 3 skipped this time (e.g. tried already): wrap to serial 1.
  EXPECT_EQ(selector->Pick({Cand(1), Cand(2)}, gen), 0u);
  // Serial 2 gone: after 1 comes 3.
  const std::vector<SelectorCandidate> without2 = {Cand(1), Cand(3)};
  EXPECT_EQ(selector->Pick(without2, gen), 1u);
  EXPECT_EQ(selector->Pick(all, gen), 0u);
}

TEST(SelectorTest, StickyMovesOnOnlyWhenItsNodeFailsOrIsNotOffered) {
  auto selector = Selector::Create(SelectorKind::kSticky);
  std::mt19937_64 gen(1);
  const std::vector<SelectorCandidate> all = {Cand(1), Cand(2), Cand(3)};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(selector->Pick(all, gen), 0u);
  selector->OnNodeFailed(2);  // not ours: no effect
  EXPECT_EQ(selector->Pick(all, gen), 0u);
  selector->OnNodeFailed(1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(selector->Pick(all, gen), 1u);
  EXPECT_EQ(selector->Pick({Cand(1), Cand(3)}, gen), 1u);  // serial 2 not offered: 3
  EXPECT_EQ(selector->Pick(all, gen), 2u);                 // and stays on 3
  selector->OnNodeFailed(3);
  EXPECT_EQ(selector->Pick(all, gen), 0u);  // wraps
}

TEST(SelectorTest, LeastLoadedGivesASlowStartingNodeAShareThatGrowsWithItsWeight) {
  auto selector = Selector::Create(SelectorKind::kLeastLoaded);
  // Three idle, equally fast nodes: a full-weight node would get a third of 3000 picks.
  std::vector<int> counts =
      Count(*selector, {Cand(1, 0, 10, 1), Cand(2, 0, 10, 1), Cand(3, 0, 10, 0.1)}, 3000);
  EXPECT_GT(counts[2], 30) << "a ramping node is not starved next to idle peers";
  EXPECT_LT(counts[2], 200);
  counts = Count(*selector, {Cand(1, 0, 10, 1), Cand(2, 0, 10, 1), Cand(3, 0, 10, 0.5)}, 3000);
  EXPECT_GT(counts[2], 350);
  EXPECT_LT(counts[2], 700);
  // Two nodes: the pair is always both, and the weight still limits the share.
  counts = Count(*selector, {Cand(1, 0, 10, 1), Cand(2, 0, 10, 0.2)}, 2000);
  EXPECT_GT(counts[1], 100);
  EXPECT_LT(counts[1], 350);
}

TEST(SelectorTest, RandomIsWeightedBySlowStart) {
  auto selector = Selector::Create(SelectorKind::kRandom);
  const std::vector<int> counts =
      Count(*selector, {Cand(1, 0, 10, 1), Cand(2, 0, 10, 1), Cand(3, 0, 10, 0.1)}, 2100);
  EXPECT_GT(counts[0], 850);
  EXPECT_GT(counts[1], 850);
  EXPECT_GT(counts[2], 40);
  EXPECT_LT(counts[2], 180);
}

}  // namespace
}  // namespace esgw
