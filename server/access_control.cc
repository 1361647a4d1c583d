#include "server/access_control.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/error_info.h"
#include "pool/log.h"
#include "server/index_patterns.h"
#include "server/tls_credentials.h"

namespace esgw {
namespace {

// The bearer token of the call: nullopt with no authorization header, an error for a header
// that is not "Bearer <token>".
absl::StatusOr<std::optional<std::string>> BearerToken(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  const auto range = metadata.equal_range("authorization");
  if (range.first == range.second) return std::optional<std::string>();
  if (std::next(range.first) != range.second) {
    return absl::UnauthenticatedError("authorization: send one header, not several");
  }
  const absl::string_view value(range.first->second.data(), range.first->second.size());
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError("authorization: must be 'Bearer <token>'");
  }
  return std::optional<std::string>(
      std::string(absl::StripAsciiWhitespace(value.substr(kScheme.size()))));
}

bool CoversEverything(const Principal& principal) { return IndexAllowed(principal.indices, "*"); }

absl::Status Tagged(absl::Status status, absl::string_view reason,
                    std::map<std::string, std::string> metadata) {
  return WithErrorInfo(std::move(status), {.reason = std::string(reason), .metadata = metadata});
}

}  // namespace

AccessControl::AccessControl(std::shared_ptr<const AuthPolicy> policy)
    : policy_(std::move(policy)), usage_(new Usage[policy_->principals().size()]) {}

AccessControl::~AccessControl() = default;

AccessControl::Admission::Admission(Admission&& other) noexcept { *this = std::move(other); }

AccessControl::Admission& AccessControl::Admission::operator=(Admission&& other) noexcept {
  if (this != &other) {
    Release();
    access_ = std::exchange(other.access_, nullptr);
    principal_ = std::exchange(other.principal_, nullptr);
    slot_ = other.slot_;
    stream_ = other.stream_;
    all_indices_ = other.all_indices_;
    peer_ = std::move(other.peer_);
    rpc_ = other.rpc_;
  }
  return *this;
}

AccessControl::Admission::~Admission() { Release(); }

void AccessControl::Admission::Release() {
  if (access_ == nullptr) return;
  Usage& usage = access_->usage_[slot_];
  usage.rpcs.fetch_sub(1, std::memory_order_relaxed);
  if (stream_) usage.streams.fetch_sub(1, std::memory_order_relaxed);
  access_ = nullptr;
}

absl::Status AccessControl::Deny(absl::Status status, const Principal* principal,
                                 absl::string_view rpc, absl::string_view peer,
                                 absl::string_view index) const {
  // The audit trail: one line per denial, never a token.
  Log(LogLevel::kWarning, "access denied",
      {{"audit", "denied"},
       {"principal", principal != nullptr ? absl::string_view(principal->name) : "-"},
       {"rpc", rpc},
       {"index", index.empty() ? "-" : index},
       {"peer", peer},
       {"reason", status.message()}});
  return status;
}

absl::StatusOr<AccessControl::Admission> AccessControl::Admit(
    const grpc::ServerContextBase& context, absl::string_view rpc, Permission permission,
    bool ingest_stream) const {
  const std::vector<Principal>& principals = policy_->principals();
  const Principal* principal = nullptr;
  std::string peer;
  if (policy_->open()) {
    principal = &principals.front();
  } else {
    peer = context.peer();
    absl::StatusOr<std::optional<std::string>> token = BearerToken(context);
    if (!token.ok()) {
      return Deny(Tagged(token.status(), "BAD_AUTHORIZATION", {}), nullptr, rpc, peer, "");
    }
    if (token->has_value()) {
      principal = policy_->FindByToken(**token);
      if (principal == nullptr) {
        return Deny(Tagged(absl::UnauthenticatedError(
                               "authorization: the bearer token is not known to esgw"),
                           "UNKNOWN_TOKEN", {}),
                    nullptr, rpc, peer, "");
      }
    } else {
      const std::string subject = PeerCertificateSubject(context);
      if (subject.empty()) {
        return Deny(Tagged(absl::UnauthenticatedError(
                               "authorization: missing; send 'authorization: Bearer <token>' "
                               "metadata (or connect with a client certificate)"),
                           "MISSING_CREDENTIALS", {}),
                    nullptr, rpc, peer, "");
      }
      principal = policy_->FindBySubject(subject);
      if (principal == nullptr) {
        return Deny(Tagged(absl::UnauthenticatedError(
                               absl::StrCat("client certificate subject '", subject,
                                            "' is not a principal of the auth file")),
                           "UNKNOWN_CERTIFICATE", {}),
                    nullptr, rpc, peer, "");
      }
    }
    if (!principal->Has(permission)) {
      return Deny(
          Tagged(absl::PermissionDeniedError(
                     absl::StrCat("principal '", principal->name, "' lacks the ",
                                  PermissionName(permission), " permission that ", rpc, " needs")),
                 "PERMISSION_MISSING", {{"permission", std::string(PermissionName(permission))}}),
          principal, rpc, peer, "");
    }
  }

  const size_t slot = static_cast<size_t>(principal - principals.data());
  Usage& usage = usage_[slot];
  // Counted first and undone on refusal, so that racing calls never both slip past a limit.
  if (usage.rpcs.fetch_add(1, std::memory_order_relaxed) >= principal->limits.max_concurrent_rpcs) {
    usage.rpcs.fetch_sub(1, std::memory_order_relaxed);
    return Deny(Tagged(absl::ResourceExhaustedError(absl::StrCat(
                           "max_concurrent_rpcs: principal '", principal->name, "' has ",
                           principal->limits.max_concurrent_rpcs, " calls running, its limit")),
                       "LIMIT_EXCEEDED", {{"limit", "max_concurrent_rpcs"}}),
                principal, rpc, peer.empty() ? context.peer() : peer, "");
  }
  if (ingest_stream && usage.streams.fetch_add(1, std::memory_order_relaxed) >=
                           principal->limits.max_ingest_streams) {
    usage.streams.fetch_sub(1, std::memory_order_relaxed);
    usage.rpcs.fetch_sub(1, std::memory_order_relaxed);
    return Deny(
        Tagged(absl::ResourceExhaustedError(absl::StrCat(
                   "max_ingest_streams: principal '", principal->name, "' has ",
                   principal->limits.max_ingest_streams, " Ingest streams open, its limit")),
               "LIMIT_EXCEEDED", {{"limit", "max_ingest_streams"}}),
        principal, rpc, peer.empty() ? context.peer() : peer, "");
  }
  Admission admission;
  admission.access_ = this;
  admission.principal_ = principal;
  admission.slot_ = slot;
  admission.stream_ = ingest_stream;
  admission.all_indices_ = policy_->open() || CoversEverything(*principal);
  admission.peer_ = std::move(peer);
  admission.rpc_ = rpc;
  return admission;
}

absl::Status AccessControl::CheckTargets(
    const Admission& admission, absl::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& targets) const {
  if (admission.all_indices()) return absl::OkStatus();
  const std::vector<absl::string_view> names(targets.begin(), targets.end());
  const std::string uncovered = FirstUncoveredTarget(admission.principal()->indices, names);
  if (uncovered.empty()) return absl::OkStatus();
  const std::string what =
      targets.empty() ? "no index (every index)" : absl::StrCat("'", uncovered, "'");
  return Deny(Tagged(absl::PermissionDeniedError(absl::StrCat(
                         field, ": ", what, " is outside the index patterns of principal '",
                         admission.principal()->name, "'")),
                     "INDEX_NOT_ALLOWED", {{"field", std::string(field)}, {"index", uncovered}}),
              admission.principal(), admission.rpc_, admission.peer_, uncovered);
}

absl::Status AccessControl::CheckIndex(const Admission& admission, absl::string_view field,
                                       absl::string_view index, bool audit) const {
  if (admission.all_indices() || IndexAllowed(admission.principal()->indices, index)) {
    return absl::OkStatus();
  }
  absl::Status denied =
      Tagged(absl::PermissionDeniedError(
                 absl::StrCat(field, ": '", index, "' is outside the index patterns of principal '",
                              admission.principal()->name, "'")),
             "INDEX_NOT_ALLOWED", {{"field", std::string(field)}, {"index", std::string(index)}});
  if (!audit) return denied;
  return Deny(std::move(denied), admission.principal(), admission.rpc_, admission.peer_, index);
}

}  // namespace esgw
