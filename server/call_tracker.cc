#include "server/call_tracker.h"

namespace esgw {

// One per call: created when the call starts, destroyed with it.
class TrackingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TrackingInterceptor(CallTracker* tracker) : tracker_(tracker) { tracker_->Started(); }
  ~TrackingInterceptor() override { tracker_->Finished(); }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  CallTracker* const tracker_;
};

namespace {

class TrackingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit TrackingFactory(CallTracker* tracker) : tracker_(tracker) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new TrackingInterceptor(tracker_);
  }

 private:
  CallTracker* const tracker_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> CallTracker::NewFactory() {
  return std::make_unique<TrackingFactory>(this);
}

void CallTracker::Started() {
  absl::MutexLock lock(&mu_);
  ++active_;
}

void CallTracker::Finished() {
  absl::MutexLock lock(&mu_);
  --active_;
}

int64_t CallTracker::active() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

bool CallTracker::WaitIdle(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return active_ == 0; };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

}  // namespace esgw
