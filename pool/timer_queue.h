// Runs tasks at a time on the injected Clock: delayed retries, probe and sniff schedules.
// Production starts one thread (Start) that waits for the next due task; tests leave it stopped
// and call RunDue() after moving a FakeClock, so nothing sleeps.
// Thread-safe: Schedule, Cancel and RunDue may be called from any thread. Tasks run on the
// queue's thread (or RunDue's caller) and must not block.
#pragma once

#include <cstdint>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/clock.h"

namespace esgw {

class TimerQueue {
 public:
  using TaskId = uint64_t;
  using Task = absl::AnyInvocable<void() &&>;

  explicit TimerQueue(const Clock* clock) : clock_(clock) {}
  // Stops the thread; tasks not yet run are dropped (their destructors run).
  ~TimerQueue();

  // Starts the thread that runs tasks when due. Idempotent.
  void Start();
  // Stops the thread and drops pending tasks. Idempotent. Schedule after Stop drops the task.
  void Stop();

  // Runs task once clock->Now() >= when.
  TaskId ScheduleAt(absl::Time when, Task task);
  TaskId ScheduleAfter(absl::Duration delay, Task task) {
    return ScheduleAt(clock_->Now() + delay, std::move(task));
  }
  // True when the task was still pending (and now never runs).
  bool Cancel(TaskId id);

  // Runs every task that is due now, in time order; returns how many ran.
  int RunDue();
  size_t pending() const;

 private:
  void Loop();

  const Clock* const clock_;
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  TaskId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // (when, id) orders tasks by time, then by scheduling order.
  std::map<std::pair<absl::Time, TaskId>, Task> tasks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TaskId, absl::Time> when_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace esgw
