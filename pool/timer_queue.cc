#include "pool/timer_queue.h"

#include <pthread.h>

#include <vector>

namespace esgw {
namespace {

// The thread re-checks the clock at least this often, so a clock that is not the steady clock
// (or a wait that ends early) costs at most this much delay.
constexpr absl::Duration kMaxWait = absl::Milliseconds(200);

}  // namespace

TimerQueue::~TimerQueue() { Stop(); }

void TimerQueue::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "esgw-timers");
    Loop();
  });
}

void TimerQueue::Stop() {
  std::map<std::pair<absl::Time, TaskId>, Task> dropped;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    changed_.SignalAll();
    dropped.swap(tasks_);
    when_.clear();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  // Tasks are destroyed outside the lock: their destructors may call back into the queue.
}

TimerQueue::TaskId TimerQueue::ScheduleAt(absl::Time when, Task task) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return 0;
  const TaskId id = next_id_++;
  tasks_.emplace(std::make_pair(when, id), std::move(task));
  when_.emplace(id, when);
  changed_.Signal();
  return id;
}

bool TimerQueue::Cancel(TaskId id) {
  Task task;
  {
    absl::MutexLock lock(&mu_);
    auto it = when_.find(id);
    if (it == when_.end()) return false;
    auto node = tasks_.extract(std::make_pair(it->second, id));
    when_.erase(it);
    task = std::move(node.mapped());
  }
  return true;
}

int TimerQueue::RunDue() {
  int ran = 0;
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      if (tasks_.empty() || tasks_.begin()->first.first > clock_->Now()) return ran;
      auto node = tasks_.extract(tasks_.begin());
      when_.erase(node.key().second);
      task = std::move(node.mapped());
    }
    std::move(task)();
    ++ran;
  }
}

size_t TimerQueue::pending() const {
  absl::MutexLock lock(&mu_);
  return tasks_.size();
}

void TimerQueue::Loop() {
  while (true) {
    RunDue();
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    absl::Duration wait = kMaxWait;
    if (!tasks_.empty()) {
      wait = std::min(wait,
                      std::max(absl::ZeroDuration(), tasks_.begin()->first.first - clock_->Now()));
    }
    if (wait > absl::ZeroDuration()) changed_.WaitWithTimeout(&mu_, wait);
  }
}

}  // namespace esgw
