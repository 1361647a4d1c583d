// Elasticsearch's GET /_cluster/health, fetched through the pool (with its retries) at most once
// per ttl however often Admin.GetHealth is called, so liveness probes and dashboards cannot
// hammer the cluster. A failed fetch is cached as well, with its error, for the same ttl.
// Thread-safe: Get may be called from any thread; callbacks run on the caller's thread (cache
// hit) or on the thread that completes the fetch. The dispatcher and clock must outlive every
// fetch.
#pragma once

#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "esgw/v1/admin.pb.h"
#include "pool/clock.h"
#include "pool/dispatcher.h"

namespace esgw {

class ClusterHealthCache {
 public:
  struct Options {
    // Not owned.
    Dispatcher* dispatcher = nullptr;
    const Clock* clock = &RealClock::Get();
    // How long a fetched answer (or a failure) is served before the next fetch.
    absl::Duration ttl = absl::Seconds(5);
    // Budget of one fetch, retries included.
    absl::Duration timeout = absl::Seconds(2);
  };
  using Callback = absl::AnyInvocable<void(const esgw::v1::ClusterHealth&) &&>;

  explicit ClusterHealthCache(Options options) : options_(options) {}

  // done gets the cached answer when it is younger than ttl; otherwise the answer of the one
  // fetch in flight (started now when none is). An answer that could not be had carries error
  // (e.g. "no Elasticsearch node available: ...") and fetched_at of the attempt.
  void Get(Callback done);

 private:
  void OnFetched(Dispatcher::Result result);

  const Options options_;
  absl::Mutex mu_;
  std::optional<esgw::v1::ClusterHealth> cached_ ABSL_GUARDED_BY(mu_);
  absl::Time cached_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Callback> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw
