// Discovery: asks a live node for GET /_nodes/http, probes the nodes it did not know, and merges
// the reachable ones into the pool; unreachable sniffed addresses (Docker, Kubernetes internals)
// never replace a working node list. Also owns the sniff schedule (periodic with jitter, and
// soon after a node failure, rate-limited); the caller's thin loop calls RunOnce when due.
// Thread-safe. RunOnce never blocks; its work and done callbacks run on transport threads. The
// pool and transport are not owned; they and the Sniffer must outlive every exchange it started.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/clock.h"
#include "pool/node_pool.h"
#include "pool/sniff_parser.h"
#include "pool/transport.h"

namespace esgw {

enum class SniffMode {
  kOff,
  // Sniffed nodes join the seeds; seeds stay even when a sniff does not list them.
  kSeedsPlusSniffed,
  // The node list is what the last sniff found; seeds it does not list are drained.
  kSniffedOnly,
};
// "off", "seeds_plus_sniffed", "sniffed_only".
absl::string_view SniffModeName(SniffMode mode);
// Parses a SniffModeName; INVALID_ARGUMENT naming the accepted values otherwise.
absl::StatusOr<SniffMode> ParseSniffMode(absl::string_view name);

class Sniffer {
 public:
  struct Options {
    // Treated as kOff unless the pool's mode is PoolMode::kSniffing.
    SniffMode mode = SniffMode::kSeedsPlusSniffed;
    // Sniff when the Sniffer starts (NextSniffTime() is its creation time).
    bool sniff_on_start = true;
    // Periodic sniffing every interval +-interval_jitter; zero turns it off.
    absl::Duration interval = absl::Minutes(5);
    double interval_jitter = 0.1;
    // RequestSniffAfterFailure is ignored within this long of the last sniff's start.
    absl::Duration min_interval_after_failure = absl::Seconds(10);
    // Timeout of the _nodes/http exchange, and of each admission probe of a new node.
    absl::Duration request_timeout = absl::Seconds(2);
    absl::Duration probe_timeout = absl::Seconds(1);
    // Nodes asked in one round before it counts as failed.
    int max_attempts = 3;
    // Dial "host" rather than "ip" from a "host/ip:port" publish_address.
    bool use_hostname = false;
    // Not owned; must outlive the Sniffer.
    const Clock* clock = &RealClock::Get();
    // Seeds the interval jitter.
    uint64_t random_seed = 0;
  };

  // OK when the sniff was merged; UNAVAILABLE when no node answered the sniff or none of the
  // sniffed nodes answered a probe; INTERNAL (BAD_ES_RESPONSE) for an unreadable answer;
  // FAILED_PRECONDITION when sniffing is off.
  using Done = absl::AnyInvocable<void(absl::Status) &&>;

  // INVALID_ARGUMENT when pool, transport or clock is null or an option is out of range.
  static absl::StatusOr<std::unique_ptr<Sniffer>> Create(Options options, NodePool* pool,
                                                         Transport* transport);

  // Starts a sniff and returns at once; done (may be empty) runs when it ends, on a transport
  // thread (or on this one when the transport answers inline or there is nothing to ask).
  // Single-flight: while a sniff runs, another RunOnce joins it and its done runs when that
  // one finishes. Every sniff is recorded in the pool (NodePool::RecordSniff).
  void RunOnce(Done done = nullptr);

  // Asks for a sniff soon after a node failure: NextSniffTime() becomes now. Returns false
  // (and does nothing) when sniffing is off, one is running, or the last one started less
  // than min_interval_after_failure ago.
  bool RequestSniffAfterFailure();

  // When the next sniff is due, in the clock's monotonic time; InfiniteFuture() when none is
  // (sniffing off, one running, or no schedule). The loop calls RunOnce once Now() reaches it.
  absl::Time NextSniffTime() const;

  bool running() const;

 private:
  struct Round;
  Sniffer(Options options, NodePool* pool, Transport* transport);

  bool Enabled() const;
  void Ask(std::shared_ptr<Round> round);
  void OnNodesHttp(std::shared_ptr<Round> round, NodePool::Lease lease, HttpResponse response);
  void Admit(std::shared_ptr<Round> round);
  // Records and logs the outcome (one line: a warning when the sniff failed, or `warning` when
  // it is not empty, e.g. sniffed nodes left out as unreachable; debug otherwise), then answers
  // the waiters.
  void Finish(bool ok, std::string outcome, absl::Status status, absl::string_view warning = "");

  const Options options_;
  NodePool* const pool_;
  Transport* const transport_;

  mutable absl::Mutex mu_;
  std::vector<Done> waiters_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time requested_at_ ABSL_GUARDED_BY(mu_);
  // Start of the last sniff; InfinitePast() before the first.
  absl::Time last_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_periodic_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw
