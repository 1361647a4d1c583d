#include "pool/sniffer.h"

#include <algorithm>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/error_info.h"
#include "pool/failure_class.h"
#include "pool/log.h"
#include "pool/prober.h"

namespace esgw {

// One sniff from asking to merging. Shared by the callbacks of its exchanges.
struct Sniffer::Round {
  std::vector<std::string> tried;
  // "host:port: what went wrong", one per node that did not answer the sniff.
  std::vector<std::string> failures;
  SniffResult sniffed;
  // Filled while admission probes run.
  absl::Mutex mu;
  int pending_probes ABSL_GUARDED_BY(mu) = 0;
  std::vector<bool> answered ABSL_GUARDED_BY(mu);
  std::vector<bool> is_new ABSL_GUARDED_BY(mu);
  std::vector<std::string> probe_failures ABSL_GUARDED_BY(mu);
};

absl::string_view SniffModeName(SniffMode mode) {
  switch (mode) {
    case SniffMode::kOff:
      return "off";
    case SniffMode::kSeedsPlusSniffed:
      return "seeds_plus_sniffed";
    case SniffMode::kSniffedOnly:
      return "sniffed_only";
  }
  return "unknown";
}

absl::StatusOr<SniffMode> ParseSniffMode(absl::string_view name) {
  for (SniffMode mode : {SniffMode::kOff, SniffMode::kSeedsPlusSniffed, SniffMode::kSniffedOnly}) {
    if (name == SniffModeName(mode)) return mode;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown sniff mode \"", name, "\"; expected off, seeds_plus_sniffed or sniffed_only"));
}

absl::StatusOr<std::unique_ptr<Sniffer>> Sniffer::Create(Options options, NodePool* pool,
                                                         Transport* transport) {
  if (pool == nullptr || transport == nullptr || options.clock == nullptr) {
    return absl::InvalidArgumentError("sniffer needs a pool, a transport and a clock");
  }
  if (options.interval < absl::ZeroDuration() ||
      !(options.interval_jitter >= 0 && options.interval_jitter < 1)) {
    return absl::InvalidArgumentError("sniff interval must be >= 0 and jitter in [0, 1)");
  }
  if (options.min_interval_after_failure < absl::ZeroDuration() ||
      options.request_timeout <= absl::ZeroDuration() ||
      options.probe_timeout <= absl::ZeroDuration() || options.max_attempts < 1) {
    return absl::InvalidArgumentError(
        "sniff timeouts must be positive, min_interval_after_failure >= 0, max_attempts >= 1");
  }
  return std::unique_ptr<Sniffer>(new Sniffer(std::move(options), pool, transport));
}

Sniffer::Sniffer(Options options, NodePool* pool, Transport* transport)
    : options_(std::move(options)), pool_(pool), transport_(transport), gen_(options_.random_seed) {
  const absl::Time now = options_.clock->Now();
  absl::MutexLock lock(&mu_);
  if (options_.sniff_on_start) {
    next_periodic_ = now;
  } else if (options_.interval > absl::ZeroDuration()) {
    next_periodic_ = now + options_.interval * absl::Uniform(absl::IntervalClosed, gen_,
                                                             1 - options_.interval_jitter,
                                                             1 + options_.interval_jitter);
  } else {
    next_periodic_ = absl::InfiniteFuture();
  }
}

bool Sniffer::Enabled() const {
  return options_.mode != SniffMode::kOff && pool_->options().mode == PoolMode::kSniffing;
}

absl::Time Sniffer::NextSniffTime() const {
  if (!Enabled()) return absl::InfiniteFuture();
  absl::MutexLock lock(&mu_);
  if (running_) return absl::InfiniteFuture();
  if (requested_) return requested_at_;
  return next_periodic_;
}

bool Sniffer::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

bool Sniffer::RequestSniffAfterFailure() {
  if (!Enabled()) return false;
  const absl::Time now = options_.clock->Now();
  absl::MutexLock lock(&mu_);
  if (running_) return false;
  if (requested_) return true;
  if (now - last_start_ < options_.min_interval_after_failure) return false;
  requested_ = true;
  requested_at_ = now;
  return true;
}

void Sniffer::RunOnce(Done done) {
  if (!Enabled()) {
    if (done) std::move(done)(absl::FailedPreconditionError("sniffing is off"));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (done) waiters_.push_back(std::move(done));
    if (running_) return;  // joins the running sniff
    running_ = true;
    requested_ = false;
    last_start_ = options_.clock->Now();
  }
  Ask(std::make_shared<Round>());
}

void Sniffer::Ask(std::shared_ptr<Round> round) {
  absl::StatusOr<NodePool::Lease> lease = absl::UnavailableError("attempts used up");
  if (static_cast<int>(round->tried.size()) < options_.max_attempts) {
    lease = pool_->Select(round->tried);
  }
  if (!lease.ok()) {
    const std::string outcome = round->failures.empty()
                                    ? std::string("no node to ask for _nodes/http")
                                    : absl::StrCat("no node answered GET /_nodes/http (",
                                                   absl::StrJoin(round->failures, "; "), ")");
    Finish(false, outcome,
           WithErrorInfo(absl::UnavailableError(outcome), {"NO_NODE_AVAILABLE", {}}));
    return;
  }
  round->tried.push_back(lease->host_port());
  const Endpoint endpoint = lease->node().endpoint;
  HttpRequest request{
      .method = HttpMethod::kGet, .path = "/_nodes/http", .timeout = options_.request_timeout};
  transport_->Send(endpoint, std::move(request),
                   [this, round, lease = *std::move(lease)](HttpResponse response) mutable {
                     OnNodesHttp(std::move(round), std::move(lease), std::move(response));
                   });
}

void Sniffer::OnNodesHttp(std::shared_ptr<Round> round, NodePool::Lease lease,
                          HttpResponse response) {
  const std::string asked = lease.host_port();
  const std::string scheme = lease.node().endpoint.scheme;
  RejectNonElasticsearchAnswer(HttpMethod::kGet, &response);
  const FailureClass failure_class = Classify(response);
  // The sniff is real traffic: its outcome counts for the node like any request's.
  pool_->Record(std::move(lease), failure_class, response.elapsed);
  if (failure_class != FailureClass::kSuccess) {
    round->failures.push_back(absl::StrCat(
        asked, ": ",
        response.error == TransportError::kNone
            ? absl::StrCat("HTTP ", response.status)
            : absl::StrCat(TransportErrorName(response.error), ": ", response.error_message)));
    if (failure_class == FailureClass::kLocal) {
      Finish(false, "sniff cancelled", absl::CancelledError("sniff cancelled"));
      return;
    }
    Ask(std::move(round));
    return;
  }
  absl::StatusOr<SniffResult> parsed = ParseNodesHttp(response.body, scheme, options_.use_hostname);
  if (!parsed.ok()) {
    Finish(false, absl::StrCat(asked, ": ", parsed.status().message()), parsed.status());
    return;
  }
  round->sniffed = *std::move(parsed);
  if (round->sniffed.nodes.empty()) {
    const std::string outcome = absl::StrCat(
        "the cluster listed no node to send requests to (", round->sniffed.skipped_master_only,
        " master-only, ", round->sniffed.skipped_no_http, " without HTTP, ",
        round->sniffed.skipped_bad_address, " with a bad address, ",
        round->sniffed.skipped_no_roles, " without roles); keeping the current nodes");
    Finish(false, outcome, absl::UnavailableError(outcome));
    return;
  }
  // Only nodes the pool does not know yet must prove they can be reached from here.
  std::vector<size_t> to_probe;
  for (size_t i = 0; i < round->sniffed.nodes.size(); ++i) {
    if (!pool_->Contains(round->sniffed.nodes[i].endpoint.HostPort())) to_probe.push_back(i);
  }
  {
    absl::MutexLock lock(&round->mu);
    round->answered.assign(round->sniffed.nodes.size(), true);
    round->is_new.assign(round->sniffed.nodes.size(), false);
    for (size_t i : to_probe) round->answered[i] = false;
    for (size_t i : to_probe) round->is_new[i] = true;
    // One extra count held by this function, so a probe answering inline cannot finish early.
    round->pending_probes = static_cast<int>(to_probe.size()) + 1;
  }
  for (size_t i : to_probe) {
    const Endpoint& endpoint = round->sniffed.nodes[i].endpoint;
    ProbeNode(*transport_, endpoint, options_.probe_timeout,
              [this, round, i, host_port = endpoint.HostPort()](bool ok, std::string detail) {
                bool last;
                {
                  absl::MutexLock lock(&round->mu);
                  round->answered[i] = ok;
                  if (!ok) round->probe_failures.push_back(absl::StrCat(host_port, ": ", detail));
                  last = --round->pending_probes == 0;
                }
                if (last) Admit(round);
              });
  }
  bool last;
  {
    absl::MutexLock lock(&round->mu);
    last = --round->pending_probes == 0;
  }
  if (last) Admit(std::move(round));
}

void Sniffer::Admit(std::shared_ptr<Round> round) {
  std::vector<NodeInfo> admitted;
  std::vector<std::string> unreachable;
  int added = 0;
  {
    absl::MutexLock lock(&round->mu);
    for (size_t i = 0; i < round->sniffed.nodes.size(); ++i) {
      if (!round->answered[i]) continue;
      if (round->is_new[i]) ++added;
      admitted.push_back(round->sniffed.nodes[i]);
    }
    unreachable = round->probe_failures;
  }
  const size_t listed = round->sniffed.nodes.size();
  if (admitted.empty()) {
    const std::string outcome =
        absl::StrCat("none of the ", listed, " sniffed node(s) answered a probe (",
                     absl::StrJoin(unreachable, "; "), "); keeping the current nodes");
    Finish(false, outcome, absl::UnavailableError(outcome));
    return;
  }
  // Nodes the answer lists but describes with nothing usable (no http, a bad address, no
  // roles) are still in the cluster: the pool's copies keep their place, so a garbled answer
  // cannot drain good nodes.
  const std::vector<std::string>& unusable = round->sniffed.unusable_ids;
  int kept = 0;
  if (!unusable.empty()) {
    for (const NodeStatsSnapshot& node : pool_->Snapshot().nodes) {
      if (node.draining || node.info.node_id.empty() ||
          std::find(unusable.begin(), unusable.end(), node.info.node_id) == unusable.end()) {
        continue;
      }
      admitted.push_back(node.info);
      ++kept;
    }
  }
  pool_->ApplySniff(std::move(admitted), options_.mode == SniffMode::kSeedsPlusSniffed);
  std::string outcome = absl::StrCat("found ", listed, " node(s), ", added, " new");
  if (!unreachable.empty()) {
    absl::StrAppend(&outcome, "; not admitted, unreachable: ", absl::StrJoin(unreachable, "; "));
  }
  if (!unusable.empty()) {
    // A few ids name the problem; a garbled answer may list any number.
    constexpr size_t kNamed = 5;
    const std::vector<std::string> named(unusable.begin(),
                                         unusable.begin() + std::min(unusable.size(), kNamed));
    absl::StrAppend(&outcome, "; ", unusable.size(),
                    " listed node(s) with no usable http address or roles (",
                    absl::StrJoin(named, ", "), unusable.size() > kNamed ? ", ..." : "", "), ",
                    kept, " of them kept as they were");
  }
  Finish(true, outcome, absl::OkStatus(),
         !unreachable.empty() ? "sniff found unreachable nodes"
         : !unusable.empty()  ? "sniff found nodes it could not use"
                              : "");
}

void Sniffer::Finish(bool ok, std::string outcome, absl::Status status, absl::string_view warning) {
  if (!ok) {
    Log(LogLevel::kWarning, "sniff failed", {{"outcome", outcome}});
  } else if (!warning.empty()) {
    Log(LogLevel::kWarning, warning, {{"outcome", outcome}});
  } else {
    Log(LogLevel::kDebug, "sniff done", {{"outcome", outcome}});
  }
  pool_->RecordSniff(ok, std::move(outcome));
  const absl::Time now = options_.clock->Now();
  std::vector<Done> waiters;
  {
    absl::MutexLock lock(&mu_);
    running_ = false;
    waiters.swap(waiters_);
    next_periodic_ = options_.interval > absl::ZeroDuration()
                         ? now + options_.interval * absl::Uniform(absl::IntervalClosed, gen_,
                                                                   1 - options_.interval_jitter,
                                                                   1 + options_.interval_jitter)
                         : absl::InfiniteFuture();
  }
  for (Done& done : waiters) std::move(done)(status);
}

}  // namespace esgw
