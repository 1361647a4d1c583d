// The one conversion between absl::Status and grpc::Status (STYLE.md "Errors"): code and message
// carried over, ErrorInfo (pool/error_info.h) carried as a google.rpc.ErrorInfo, domain
// "esgw.dev", inside a google.rpc.Status in the grpc-status-details-bin trailer.
// Thread-safe: free functions over values.
#pragma once

#include <grpcpp/support/status.h>

#include <cstddef>

#include "absl/status/status.h"

namespace esgw {

// Bounds on what goes to a client, chosen so the whole trailer stays well under gRPC's default
// 8 KiB metadata limit in C++ clients of this era: the message travels twice (grpc-message, and
// base64-encoded inside grpc-status-details-bin), so 2 KiB + 4/3 x (2 KiB + 2 KiB of metadata)
// is about 7.4 KiB at worst. Truncation happens on a UTF-8 boundary and appends "...".
inline constexpr size_t kMaxGrpcMessageBytes = 2048;
inline constexpr size_t kMaxErrorInfoValueBytes = 512;
inline constexpr size_t kMaxErrorInfoMetadataBytes = 2048;

// The grpc::Status for s: same code (UNKNOWN for codes gRPC does not have), the message made valid
// UTF-8 and bounded by kMaxGrpcMessageBytes. When s carries ErrorInfo, the binary error details
// hold a serialised google.rpc.Status{code, message, details: [Any(google.rpc.ErrorInfo{reason,
// domain "esgw.dev", metadata})]}; metadata values are bounded by kMaxErrorInfoValueBytes and
// entries beyond kMaxErrorInfoMetadataBytes in total are dropped. OK maps to OK.
grpc::Status ToGrpcStatus(const absl::Status& s);

// For clients: the absl::Status for s, with the google.rpc.ErrorInfo of domain "esgw.dev" from its
// binary error details attached back as ErrorInfo (pool/error_info.h). Details that do not parse
// or carry no such ErrorInfo are ignored. OK maps to OK.
absl::Status FromGrpcStatus(const grpc::Status& s);

}  // namespace esgw
