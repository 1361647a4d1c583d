#include "pool/timer_queue.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/support/fake_clock.h"

namespace esgw {
namespace {

using testing::FakeClock;

TEST(TimerQueueTest, RunsTasksOnlyWhenDueInTimeOrder) {
  FakeClock clock;
  TimerQueue queue(&clock);
  std::vector<int> ran;
  queue.ScheduleAfter(absl::Seconds(2), [&ran] { ran.push_back(2); });
  queue.ScheduleAfter(absl::Seconds(1), [&ran] { ran.push_back(1); });
  queue.ScheduleAfter(absl::Seconds(1), [&ran] { ran.push_back(11); });
  EXPECT_EQ(queue.RunDue(), 0);
  clock.Advance(absl::Milliseconds(999));
  EXPECT_EQ(queue.RunDue(), 0);
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(queue.RunDue(), 2);
  EXPECT_EQ(ran, (std::vector<int>{1, 11}));
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(queue.RunDue(), 1);
  EXPECT_EQ(ran, (std::vector<int>{1, 11, 2}));
  EXPECT_EQ(queue.pending(), 0u);
}

TEST(TimerQueueTest, CancelledTasksNeverRun) {
  FakeClock clock;
  TimerQueue queue(&clock);
  bool ran = false;
  const TimerQueue::TaskId id = queue.ScheduleAfter(absl::Seconds(1), [&ran] { ran = true; });
  EXPECT_TRUE(queue.Cancel(id));
  EXPECT_FALSE(queue.Cancel(id));
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(queue.RunDue(), 0);
  EXPECT_FALSE(ran);
}

TEST(TimerQueueTest, TasksMayScheduleMoreTasks) {
  FakeClock clock;
  TimerQueue queue(&clock);
  int runs = 0;
  std::function<void()> tick = [&] {
    if (++runs < 3) queue.ScheduleAfter(absl::Seconds(1), [&] { tick(); });
  };
  queue.ScheduleAfter(absl::Seconds(1), [&] { tick(); });
  for (int i = 0; i < 5; ++i) {
    clock.Advance(absl::Seconds(1));
    queue.RunDue();
  }
  EXPECT_EQ(runs, 3);
}

TEST(TimerQueueTest, AfterStopNothingIsScheduled) {
  FakeClock clock;
  TimerQueue queue(&clock);
  queue.Stop();
  EXPECT_EQ(queue.ScheduleAfter(absl::ZeroDuration(), [] {}), 0u);
  EXPECT_EQ(queue.pending(), 0u);
}

}  // namespace
}  // namespace esgw
