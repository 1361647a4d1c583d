#include "server/grpc_status.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "pool/error_info.h"
#include "pool/utf8.h"

namespace esgw {

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  const int raw_code = static_cast<int>(s.code());
  // absl and gRPC share the canonical code numbers 0..16.
  const auto code = raw_code >= 1 && raw_code <= 16 ? static_cast<grpc::StatusCode>(raw_code)
                                                    : grpc::StatusCode::UNKNOWN;
  std::string message = BoundedUtf8(s.message(), kMaxGrpcMessageBytes);

  ErrorInfo info = GetErrorInfo(s);
  if (info.reason.empty() && info.metadata.empty()) return grpc::Status(code, std::move(message));

  google::rpc::ErrorInfo error_info;
  // ErrorInfo.reason is required by google.rpc; fall back to the code's name.
  error_info.set_reason(info.reason.empty() ? absl::StatusCodeToString(s.code())
                                            : BoundedUtf8(info.reason, kMaxErrorInfoValueBytes));
  error_info.set_domain(kErrorDomain);
  size_t metadata_bytes = 0;
  for (const auto& [key, value] : info.metadata) {
    std::string bounded_key = BoundedUtf8(key, kMaxErrorInfoValueBytes);
    std::string bounded_value = BoundedUtf8(value, kMaxErrorInfoValueBytes);
    const size_t size = bounded_key.size() + bounded_value.size();
    if (metadata_bytes + size > kMaxErrorInfoMetadataBytes) continue;  // Smaller ones may fit.
    metadata_bytes += size;
    (*error_info.mutable_metadata())[std::move(bounded_key)] = std::move(bounded_value);
  }

  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(error_info);
  return grpc::Status(code, std::move(message), details.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  const int raw_code = static_cast<int>(s.error_code());
  const auto code = raw_code >= 1 && raw_code <= 16 ? static_cast<absl::StatusCode>(raw_code)
                                                    : absl::StatusCode::kUnknown;
  absl::Status status(code, s.error_message());
  if (s.error_details().empty()) return status;

  google::rpc::Status details;
  if (!details.ParseFromString(s.error_details())) return status;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo error_info;
    if (!any.Is<google::rpc::ErrorInfo>() || !any.UnpackTo(&error_info) ||
        error_info.domain() != kErrorDomain) {
      continue;
    }
    ErrorInfo info;
    info.reason = error_info.reason();
    info.metadata.insert(error_info.metadata().begin(), error_info.metadata().end());
    return WithErrorInfo(std::move(status), info);
  }
  return status;
}

}  // namespace esgw
