#include "server/grpc_status.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "pool/error_info.h"

namespace esgw {
namespace {

constexpr absl::string_view kEllipsis = "...";
constexpr absl::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at the start of s, or 0 when there is none.
size_t Utf8SequenceLength(absl::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) low = 0xA0;   // No overlong forms.
    if (b0 == 0xED) high = 0x9F;  // No UTF-16 surrogates.
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;  // Nothing above U+10FFFF.
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  const auto b1 = static_cast<unsigned char>(s[1]);
  if (b1 < low || b1 > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return length;
}

// in as valid UTF-8 (malformed bytes become U+FFFD: protobuf rejects a google.rpc.Status whose
// string fields are not UTF-8), cut on a character boundary to at most max_bytes with "...".
std::string BoundedUtf8(absl::string_view in, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(in.size(), max_bytes + kEllipsis.size()));
  size_t cut = 0;  // Longest prefix of out that leaves room for the ellipsis.
  size_t i = 0;
  while (i < in.size() && out.size() <= max_bytes) {
    const size_t length = Utf8SequenceLength(in.substr(i));
    if (length == 0) {
      out.append(kReplacementChar.data(), kReplacementChar.size());
      ++i;
    } else {
      out.append(in.data() + i, length);
      i += length;
    }
    if (out.size() + kEllipsis.size() <= max_bytes) cut = out.size();
  }
  if (out.size() > max_bytes) {
    out.resize(cut);
    out.append(kEllipsis.data(), kEllipsis.size());
  }
  return out;
}

}  // namespace

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
