// Authentication, authorization and per-principal limits for every esgw.v1 RPC (the Health and
// reflection services stay open). A call is admitted once, at its start:
//  - authenticated from "authorization: Bearer <token>" metadata, or else from the client
//    certificate on an mTLS connection; no credential, a malformed header or an unknown token or
//    certificate is UNAUTHENTICATED;
//  - authorized for the RPC's permission (read, write or admin): PERMISSION_DENIED otherwise;
//  - counted against the principal's max_concurrent_rpcs (and max_ingest_streams for Ingest):
//    RESOURCE_EXHAUSTED naming the limit when it is reached.
// The admission then checks every index the call touches against the principal's patterns
// (PERMISSION_DENIED for a target of Search, MultiSearch, Count or Get; one failed item with
// status 403 for an op of Bulk or Ingest). Each denial is logged once as an audit line: the
// principal (or "-"), the RPC, the index when there is one, the peer and the reason. Tokens are
// never logged or echoed.
// Thread-safe: Admit and the checks may run on any thread; an Admission belongs to one call.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/auth_policy.h"

namespace esgw {

class AccessControl {
 public:
  // Takes the policy to enforce; AuthPolicy::Open for open access.
  explicit AccessControl(std::shared_ptr<const AuthPolicy> policy);
  ~AccessControl();

  const AuthPolicy& policy() const { return *policy_; }

  // A call let in: its principal, holding its place in the principal's limits until released
  // or destroyed.
  class Admission {
   public:
    Admission() = default;
    Admission(Admission&& other) noexcept;
    Admission& operator=(Admission&& other) noexcept;
    ~Admission();

    const Principal* principal() const { return principal_; }
    // True when the principal's patterns cover every index, so index checks can be skipped.
    bool all_indices() const { return all_indices_; }

    // Gives the place back; later calls do nothing. A call releases just before it finishes,
    // so that a client which has its status can start its next call at once (gRPC destroys a
    // finished call's reactor some time after the status is on its way).
    void Release();

   private:
    friend class AccessControl;

    const AccessControl* access_ = nullptr;
    const Principal* principal_ = nullptr;
    size_t slot_ = 0;
    bool stream_ = false;
    bool all_indices_ = false;
    // For audit lines of later checks; the peer only under an auth file (open access denies no
    // index).
    std::string peer_ = "";
    absl::string_view rpc_ = "";
  };

  // See the file comment. rpc is the method name for messages and the audit log ("Search"); it
  // must outlive the admission (a string literal).
  // ingest_stream counts the call against max_ingest_streams too.
  absl::StatusOr<Admission> Admit(const grpc::ServerContextBase& context, absl::string_view rpc,
                                  Permission permission, bool ingest_stream = false) const;

  // PERMISSION_DENIED (audited) naming field and the target when a search target (a concrete
  // name, a wildcard expression, "_all" or no target at all) is outside the principal's
  // patterns.
  absl::Status CheckTargets(const Admission& admission, absl::string_view field,
                            const google::protobuf::RepeatedPtrField<std::string>& targets) const;
  // The same for one concrete index (Get, a write, an index a query reads from). audit = false
  // leaves the denial out of the audit log (a Bulk logs each denied index once, not per op).
  absl::Status CheckIndex(const Admission& admission, absl::string_view field,
                          absl::string_view index, bool audit = true) const;

 private:
  struct Usage {
    std::atomic<int> rpcs{0};
    std::atomic<int> streams{0};
  };

  absl::Status Deny(absl::Status status, const Principal* principal, absl::string_view rpc,
                    absl::string_view peer, absl::string_view index) const;

  const std::shared_ptr<const AuthPolicy> policy_;
  // One per principal, in policy order.
  const std::unique_ptr<Usage[]> usage_;
};

}  // namespace esgw
