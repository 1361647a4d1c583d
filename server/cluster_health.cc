#include "server/cluster_health.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/es_response.h"

namespace esgw {

void ClusterHealthCache::Get(Callback done) {
  std::optional<esgw::v1::ClusterHealth> fresh;
  {
    absl::MutexLock lock(&mu_);
    if (cached_.has_value() && options_.clock->Now() - cached_at_ < options_.ttl) {
      fresh = *cached_;
    } else {
      waiters_.push_back(std::move(done));
      if (fetching_) return;
      fetching_ = true;
    }
  }
  if (fresh.has_value()) {
    std::move(done)(*fresh);
    return;
  }
  HttpRequest request;
  request.method = HttpMethod::kGet;
  request.path = "/_cluster/health";
  options_.dispatcher->Execute(std::move(request), /*idempotent=*/true,
                               options_.clock->Now() + options_.timeout,
                               [this](Dispatcher::Result result) { OnFetched(std::move(result)); });
}

void ClusterHealthCache::OnFetched(Dispatcher::Result result) {
  esgw::v1::ClusterHealth health;
  absl::Status status = Dispatcher::ResultStatus(result);
  if (status.ok()) status = ParseClusterHealth(result.response.body, &health);
  if (!status.ok()) {
    health.Clear();
    health.set_error(absl::StrCat("GET /_cluster/health", result.served_by.empty() ? "" : " on ",
                                  result.served_by, ": ", status.message()));
  }
  *health.mutable_fetched_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      absl::ToUnixNanos(options_.clock->WallNow()));
  std::vector<Callback> waiters;
  {
    absl::MutexLock lock(&mu_);
    cached_ = health;
    cached_at_ = options_.clock->Now();
    fetching_ = false;
    waiters.swap(waiters_);
  }
  for (Callback& waiter : waiters) std::move(waiter)(health);
}

}  // namespace esgw
