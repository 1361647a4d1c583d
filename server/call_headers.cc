#include "server/call_headers.h"

#include <cstdint>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pool/error_info.h"

namespace esgw {
namespace {

constexpr size_t kMaxOpaqueIdBytes = 256;
// W3C Trace Context caps tracestate at 32 list members; 512 bytes is what it asks vendors to
// keep at the least, and a generous ceiling for a header we only carry.
constexpr size_t kMaxTraceStateBytes = 8192;

bool IsLowerHex(absl::string_view s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(absl::string_view s) { return s.find_first_not_of('0') == absl::string_view::npos; }

// W3C Trace Context level 1: "vv-<32 hex trace id>-<16 hex parent id>-<2 hex flags>". A
// version above 00 may carry more fields after the flags, behind a '-'; version ff is invalid.
bool IsValidTraceparent(absl::string_view v) {
  if (v.size() < 55) return false;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  const absl::string_view version = v.substr(0, 2);
  const absl::string_view trace_id = v.substr(3, 32);
  const absl::string_view parent_id = v.substr(36, 16);
  const absl::string_view flags = v.substr(53, 2);
  if (!IsLowerHex(version) || !IsLowerHex(trace_id) || !IsLowerHex(parent_id) ||
      !IsLowerHex(flags)) {
    return false;
  }
  if (version == "ff" || AllZero(trace_id) || AllZero(parent_id)) return false;
  if (version == "00") return v.size() == 55;
  return v.size() == 55 || v[55] == '-';
}

absl::string_view View(const grpc::string_ref& ref) {
  return absl::string_view(ref.data(), ref.size());
}

// Sets *value to the first value of key; false when the client sent none.
bool Find(const ClientMetadata& metadata, absl::string_view key, absl::string_view* value) {
  const auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return false;
  *value = View(it->second);
  return true;
}

bool IsSafeOpaqueId(absl::string_view value) {
  return !value.empty() && value.size() <= kMaxOpaqueIdBytes &&
         IsValidHeaderField("X-Opaque-Id", value);
}

std::string NewRequestId() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return absl::StrFormat("esgw-%016x", gen());
}

}  // namespace

absl::StatusOr<OpaqueIdPolicy> OpaqueIdPolicy::Parse(absl::string_view value,
                                                     absl::string_view flag) {
  OpaqueIdPolicy policy;
  if (value == "per_request") return policy;
  if (value == "none") {
    policy.mode = Mode::kNone;
    return policy;
  }
  if (!IsSafeOpaqueId(value)) {
    return InvalidField(flag, absl::StrCat("must be per_request, none, or a fixed id of 1 to ",
                                           kMaxOpaqueIdBytes, " bytes without control characters"));
  }
  policy.mode = Mode::kFixed;
  policy.fixed = std::string(value);
  return policy;
}

std::string AddForwardedHeaders(const ClientMetadata& metadata, const OpaqueIdPolicy& policy,
                                HttpRequest* request) {
  absl::string_view traceparent;
  if (Find(metadata, "traceparent", &traceparent) && IsValidTraceparent(traceparent)) {
    request->headers.emplace_back("traceparent", std::string(traceparent));
    absl::string_view tracestate;
    if (Find(metadata, "tracestate", &tracestate) && !tracestate.empty() &&
        tracestate.size() <= kMaxTraceStateBytes && IsValidHeaderField("tracestate", tracestate)) {
      request->headers.emplace_back("tracestate", std::string(tracestate));
    }
  }
  std::string opaque_id;
  absl::string_view client_id;
  if (Find(metadata, "x-opaque-id", &client_id) && IsSafeOpaqueId(client_id)) {
    opaque_id = std::string(client_id);
  } else if (policy.mode == OpaqueIdPolicy::Mode::kPerRequest) {
    opaque_id = NewRequestId();
  } else if (policy.mode == OpaqueIdPolicy::Mode::kFixed) {
    opaque_id = policy.fixed;
  }
  if (!opaque_id.empty()) request->headers.emplace_back("X-Opaque-Id", opaque_id);
  return opaque_id;
}

void ForwardCallHeaders(grpc::CallbackServerContext* context, const OpaqueIdPolicy& policy,
                        HttpRequest* request) {
  const std::string id = AddForwardedHeaders(context->client_metadata(), policy, request);
  if (!id.empty()) context->AddInitialMetadata("x-opaque-id", id);
}

}  // namespace esgw
