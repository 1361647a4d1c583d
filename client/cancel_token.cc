#include "client/cancel_token.h"

namespace esgw::client {

void CancelToken::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_.store(true, std::memory_order_release);
  // TryCancel under the lock: Unregister (which the call's owner runs before destroying the
  // context) waits for it, so a context is never cancelled after it is gone.
  for (grpc::ClientContext* context : contexts_) context->TryCancel();
}

void CancelToken::Register(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  contexts_.insert(context);
  if (cancelled_.load(std::memory_order_acquire)) context->TryCancel();
}

void CancelToken::Unregister(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  contexts_.erase(context);
}

}  // namespace esgw::client
