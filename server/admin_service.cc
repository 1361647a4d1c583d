#include "server/admin_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/finish_now.h"
#include "server/grpc_status.h"
#include "server/pool_stats.h"

namespace esgw {
namespace {

using google::protobuf::util::TimeUtil;

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "esgw is shutting down; watch another replica");
}

class FinishedWriter final : public grpc::ServerWriteReactor<esgw::v1::PoolStats> {
 public:
  explicit FinishedWriter(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

// One WatchPoolStats stream. At most one write is in flight; the next snapshot is scheduled on
// the timer queue when the previous write completes. Timer tasks reach the watcher through a
// Handle that OnDone detaches, so a task that fires after the stream ended does nothing.
class AdminService::Watcher final : public grpc::ServerWriteReactor<esgw::v1::PoolStats> {
 public:
  struct Handle {
    absl::Mutex mu;
    Watcher* watcher ABSL_GUARDED_BY(mu) = nullptr;
    void Fire() {
      absl::MutexLock lock(&mu);
      if (watcher != nullptr) watcher->Send();
    }
  };

  Watcher(AdminService* service, absl::Duration interval, AccessControl::Admission admission)
      : service_(service),
        interval_(interval),
        handle_(std::make_shared<Handle>()),
        admission_(std::move(admission)) {
    absl::MutexLock lock(&handle_->mu);
    handle_->watcher = this;
  }

  void Send() {
    absl::MutexLock lock(&mu_);
    timer_ = 0;
    if (finishing_) return;
    ToPoolStats(service_->options_.pool->Snapshot(), service_->options_.transport, &stats_);
    writing_ = true;
    StartWrite(&stats_);
  }

  // Ends the stream with status once no write is in flight.
  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    EndLocked(status);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) EndLocked(grpc::Status::CANCELLED);  // the client went away
    if (finishing_) {
      FinishOnceLocked();
      return;
    }
    std::shared_ptr<Handle> handle = handle_;
    timer_ = service_->options_.timers->ScheduleAfter(
        interval_, [handle = std::move(handle)] { handle->Fire(); });
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    {
      absl::MutexLock lock(&handle_->mu);
      handle_->watcher = nullptr;
    }
    TimerQueue::TaskId timer;
    {
      absl::MutexLock lock(&mu_);
      timer = timer_;
    }
    if (timer != 0) service_->options_.timers->Cancel(timer);
    service_->Remove(this);
    delete this;
  }

 private:
  void EndLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return;
    finishing_ = true;
    status_ = status;
    if (!writing_) FinishOnceLocked();
  }

  void FinishOnceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    admission_.Release();
    Finish(status_);
  }

  AdminService* const service_;
  const absl::Duration interval_;
  const std::shared_ptr<Handle> handle_;
  // Holds the stream's place in its principal's limits until it finishes.
  AccessControl::Admission admission_;
  absl::Mutex mu_;
  esgw::v1::PoolStats stats_ ABSL_GUARDED_BY(mu_);
  TimerQueue::TaskId timer_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

AdminService::AdminService(Options options) : options_(options), started_(options.clock->Now()) {}

AdminService::~AdminService() = default;

void AdminService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  // Under mu_, so no watcher is removed (and deleted) meanwhile: OnDone waits in Remove.
  for (Watcher* watcher : watchers_) watcher->End(ShuttingDown());
}

void AdminService::Remove(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* AdminService::GetPoolStats(grpc::CallbackServerContext* context,
                                                     const esgw::v1::GetPoolStatsRequest*,
                                                     esgw::v1::PoolStats* response) {
  absl::StatusOr<AccessControl::Admission> admission =
      options_.access->Admit(*context, "GetPoolStats", Permission::kAdmin);
  if (!admission.ok()) return FinishNow(context, ToGrpcStatus(admission.status()));
  ToPoolStats(options_.pool->Snapshot(), options_.transport, response);
  return FinishNow(context, *admission, absl::OkStatus());
}

grpc::ServerWriteReactor<esgw::v1::PoolStats>* AdminService::WatchPoolStats(
    grpc::CallbackServerContext* context, const esgw::v1::WatchPoolStatsRequest* request) {
  absl::StatusOr<AccessControl::Admission> admission =
      options_.access->Admit(*context, "WatchPoolStats", Permission::kAdmin);
  if (!admission.ok()) return new FinishedWriter(ToGrpcStatus(admission.status()));
  absl::Duration interval = options_.default_watch_interval;
  if (request->has_interval()) {
    const google::protobuf::Duration& d = request->interval();
    if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999'999'999) {
      return new FinishedWriter(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "interval: must be a valid, non-negative duration"));
    }
    interval = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
    if (interval < options_.min_watch_interval || interval > options_.max_watch_interval) {
      return new FinishedWriter(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("interval: must be between ",
                                    absl::FormatDuration(options_.min_watch_interval), " and ",
                                    absl::FormatDuration(options_.max_watch_interval), ", got ",
                                    absl::FormatDuration(interval), " (unset means ",
                                    absl::FormatDuration(options_.default_watch_interval), ")")));
    }
  }
  auto* watcher = new Watcher(this, interval, *std::move(admission));
  // Under mu_ (as Shutdown ends watchers), so that Shutdown cannot finish the stream, and
  // OnDone delete it, between its registration and its first message.
  absl::MutexLock lock(&mu_);
  watchers_.insert(watcher);  // OnDone removes it
  if (shut_down_) {
    watcher->End(ShuttingDown());
  } else {
    watcher->Send();
  }
  return watcher;
}

grpc::ServerUnaryReactor* AdminService::GetHealth(grpc::CallbackServerContext* context,
                                                  const esgw::v1::GetHealthRequest*,
                                                  esgw::v1::HealthReport* response) {
  absl::StatusOr<AccessControl::Admission> admission =
      options_.access->Admit(*context, "GetHealth", Permission::kAdmin);
  if (!admission.ok()) return FinishNow(context, ToGrpcStatus(admission.status()));
  response->set_status(options_.health->serving() ? esgw::v1::GATEWAY_STATUS_SERVING
                                                  : esgw::v1::GATEWAY_STATUS_NOT_SERVING);
  const PoolSnapshot snapshot = options_.pool->Snapshot();
  esgw::v1::PoolSummary* pool = response->mutable_pool();
  for (const NodeStatsSnapshot& node : snapshot.nodes) {
    switch (node.state) {
      case NodeState::kAlive:
        pool->set_alive(pool->alive() + 1);
        break;
      case NodeState::kDead:
        pool->set_dead(pool->dead() + 1);
        break;
      case NodeState::kProbing:
        pool->set_probing(pool->probing() + 1);
        break;
    }
  }
  if (snapshot.last_sniff_time.has_value()) {
    *pool->mutable_last_sniff_time() =
        TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(*snapshot.last_sniff_time));
  }
  pool->set_last_sniff_outcome(snapshot.last_sniff_outcome);
  response->set_version(options_.version);
  *response->mutable_uptime() =
      TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(options_.clock->Now() - started_));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The admission is held until the reply goes (the callback must be copyable).
  options_.cluster_health->Get(
      [reactor, response, held = std::make_shared<AccessControl::Admission>(*std::move(admission))](
          const esgw::v1::ClusterHealth& cluster) {
        *response->mutable_cluster() = cluster;
        held->Release();
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::Sniff(grpc::CallbackServerContext* context,
                                              const esgw::v1::SniffRequest*,
                                              esgw::v1::PoolStats* response) {
  absl::StatusOr<AccessControl::Admission> admission =
      options_.access->Admit(*context, "Sniff", Permission::kAdmin);
  if (!admission.ok()) return FinishNow(context, ToGrpcStatus(admission.status()));
  if (options_.sniffer == nullptr) {
    return FinishNow(context, *admission,
                     absl::FailedPreconditionError(
                         "sniffing is off: start esgw-server with --pool_mode=sniffing "
                         "and --sniff_mode other than off"));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The sniff is asynchronous; the reply is sent from the thread that finishes it.
  options_.sniffer->RunOnce([this, reactor, response,
                             held = std::make_shared<AccessControl::Admission>(
                                 *std::move(admission))](absl::Status status) {
    if (status.ok()) ToPoolStats(options_.pool->Snapshot(), options_.transport, response);
    held->Release();
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace esgw
