// CancelToken: lets another thread (a signal-watching thread, a timer) cancel the calls that a
// Client runs with it. A call registers its context for its duration; Cancel() cancels every
// registered call now and every call registered later.
// Thread-safe. The token must outlive the calls that use it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace esgw::client {

class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Cancels the registered calls (they end with CANCELLED) and any registered later.
  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // For Client: context belongs to a call in progress until Unregister. Registering after
  // Cancel cancels it at once.
  void Register(grpc::ClientContext* context);
  void Unregister(grpc::ClientContext* context);

 private:
  absl::Mutex mu_;
  std::set<grpc::ClientContext*> contexts_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> cancelled_{false};
};

// Registers a context with a token (which may be null) for the scope.
class ScopedCancellation {
 public:
  ScopedCancellation(CancelToken* token, grpc::ClientContext* context)
      : token_(token), context_(context) {
    if (token_ != nullptr) token_->Register(context_);
  }
  ~ScopedCancellation() {
    if (token_ != nullptr) token_->Unregister(context_);
  }
  ScopedCancellation(const ScopedCancellation&) = delete;
  ScopedCancellation& operator=(const ScopedCancellation&) = delete;

 private:
  CancelToken* token_;
  grpc::ClientContext* context_;
};

}  // namespace esgw::client
