#include "server/call_tracker.h"

#include <chrono>

namespace esgw {
namespace {

const char* TypeName(grpc::experimental::ServerRpcInfo::Type type) {
  using Type = grpc::experimental::ServerRpcInfo::Type;
  switch (type) {
    case Type::UNARY:
      return "unary";
    case Type::CLIENT_STREAMING:
      return "client_stream";
    case Type::SERVER_STREAMING:
      return "server_stream";
    case Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

}  // namespace

// One per call: created when the call starts, destroyed with it.
class TrackingInterceptor final : public grpc::experimental::Interceptor {
 public:
  TrackingInterceptor(CallTracker* tracker, grpc::experimental::ServerRpcInfo* info)
      : tracker_(tracker),
        method_(tracker->metrics_.Get(info->method(), TypeName(info->type()))),
        start_(std::chrono::steady_clock::now()) {
    tracker_->Started();
    method_->started.fetch_add(1, std::memory_order_relaxed);
  }

  ~TrackingInterceptor() override {
    // A call torn down without a status sent (the server stopped under it) counts as
    // cancelled.
    if (!handled_) Handled(grpc::StatusCode::CANCELLED);
    tracker_->Finished();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      method_->msg_received.fetch_add(1, std::memory_order_relaxed);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      method_->msg_sent.fetch_add(1, std::memory_order_relaxed);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) && !handled_) {
      Handled(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Handled(grpc::StatusCode code) {
    handled_ = true;
    const int index = code >= 0 && code <= 16 ? code : grpc::StatusCode::UNKNOWN;
    method_->handled[index].fetch_add(1, std::memory_order_relaxed);
    method_->handling.Observe(absl::FromChrono(std::chrono::steady_clock::now() - start_));
  }

  CallTracker* const tracker_;
  GrpcServerMetrics::Method* const method_;
  const std::chrono::steady_clock::time_point start_;
  bool handled_ = false;
};

namespace {

class TrackingFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit TrackingFactory(CallTracker* tracker) : tracker_(tracker) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new TrackingInterceptor(tracker_, info);
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
