// A check for fuzz targets whose errors reach clients: the gRPC status esgw would send for an
// error (server/grpc_status.h) keeps its code and ErrorInfo reason through the trip over the wire,
// whatever bytes the input put into the message or metadata. Header-only.
#pragma once

#include "absl/status/status.h"
#include "pool/error_info.h"
#include "server/grpc_status.h"
#include "tests/fuzz/fuzz_check.h"

namespace esgw::fuzz {

inline void CheckGrpcStatusRoundTrip(const absl::Status& status) {
  const grpc::Status sent = ToGrpcStatus(status);
  ESGW_FUZZ_CHECK(sent.ok() == status.ok());
  if (status.ok()) return;
  ESGW_FUZZ_CHECK(IsUtf8(sent.error_message()));
  ESGW_FUZZ_CHECK(sent.error_message().size() <= kMaxGrpcMessageBytes + 3);
  const absl::Status received = FromGrpcStatus(sent);
  ESGW_FUZZ_CHECK_NOTE(received.code() == status.code(), status.ToString());
  const ErrorInfo info = GetErrorInfo(status);
  if (!info.reason.empty()) {
    // The details must parse on the client's side and carry the reason (bounded, so compare a
    // reason that fits; every reason esgw sets is short).
    ESGW_FUZZ_CHECK_NOTE(!sent.error_details().empty(), status.ToString());
    if (info.reason.size() <= 128 && IsUtf8(info.reason)) {
      ESGW_FUZZ_CHECK_NOTE(GetErrorInfo(received).reason == info.reason, status.ToString());
    }
  }
}

}  // namespace esgw::fuzz
