#include "server/health_service.h"

namespace esgw {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream. Writes one status at a time; a change that arrives while a write is in
// flight is sent when it completes (only the newest status matters).
class HealthService::Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* service, std::string name) : service_(service), name_(std::move(name)) {}

  // Called with the service's lock held, so the service never calls a removed watcher.
  void Update(ServingStatus status, bool last) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    pending_ = status;
    has_pending_ = true;
    last_ = last;
    if (!writing_) WriteNextLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::OK);
      return;
    }
    if (has_pending_) {
      WriteNextLocked();
    } else if (last_) {
      FinishLocked(grpc::Status::OK);
    }
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    service_->Remove(this);
    delete this;
  }

 private:
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    has_pending_ = false;
    writing_ = true;
    response_.set_status(pending_);
    StartWrite(&response_);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  HealthService* const service_;
  const std::string name_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  ServingStatus pending_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool last_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;

  friend class HealthService;
};

HealthService::HealthService(Options options)
    : options_(std::move(options)),
      services_(options_.services.begin(), options_.services.end()),
      liveness_services_(options_.liveness_services.begin(), options_.liveness_services.end()),
      last_renewed_(options_.clock->Now()) {
  services_.insert("");
}

HealthService::~HealthService() = default;

HealthService::ServingStatus HealthService::StatusOf(const std::string& service) const {
  if (liveness_services_.contains(service)) {
    return options_.clock->Now() - last_renewed_ <= options_.liveness_timeout
               ? HealthCheckResponse::SERVING
               : HealthCheckResponse::NOT_SERVING;
  }
  if (!services_.contains(service)) return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ && !shut_down_ ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

HealthService::ServingStatus HealthService::StatusFor(const std::string& service) const {
  absl::MutexLock lock(&mu_);
  return StatusOf(service);
}

void HealthService::NotifyAll() {
  for (Watcher* watcher : watchers_) watcher->Update(StatusOf(watcher->name_), shut_down_);
}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = options_.clock->Now();
  // A liveness name that had gone stale is back: its watchers hear of it now.
  const bool liveness_changed = now - last_renewed_ > options_.liveness_timeout;
  last_renewed_ = now;
  const bool readiness_changed = !shut_down_ && serving_ != serving;
  if (readiness_changed) serving_ = serving;
  if (liveness_changed || readiness_changed) NotifyAll();
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  NotifyAll();
}

bool HealthService::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_ && !shut_down_;
}

void HealthService::Remove(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::MutexLock lock(&mu_);
  const ServingStatus status = StatusOf(request->service());
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 "service: unknown service '" + request->service() + "'"));
    return reactor;
  }
  response->set_status(status);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext*, const HealthCheckRequest* request) {
  auto* watcher = new Watcher(this, request->service());
  absl::MutexLock lock(&mu_);
  watchers_.insert(watcher);
  watcher->Update(StatusOf(request->service()), shut_down_);
  return watcher;
}

}  // namespace esgw
