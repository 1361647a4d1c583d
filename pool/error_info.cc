#include "pool/error_info.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace esgw {
namespace {

// One payload per field; absl::Status payloads are keyed by URL, and these URLs are ours.
constexpr char kReasonUrl[] = "esgw.dev/error_info/reason";
constexpr absl::string_view kMetadataUrlPrefix = "esgw.dev/error_info/metadata/";

}  // namespace

absl::Status WithErrorInfo(absl::Status status, const ErrorInfo& info) {
  if (status.ok()) return status;
  status.SetPayload(kReasonUrl, absl::Cord(info.reason));
  for (const auto& [key, value] : info.metadata) {
    status.SetPayload(absl::StrCat(kMetadataUrlPrefix, key), absl::Cord(value));
  }
  return status;
}

ErrorInfo GetErrorInfo(const absl::Status& status) {
  ErrorInfo info;
  status.ForEachPayload([&info](absl::string_view url, const absl::Cord& payload) {
    if (url == kReasonUrl) {
      info.reason = std::string(payload);
    } else if (absl::StartsWith(url, kMetadataUrlPrefix)) {
      info.metadata[std::string(url.substr(kMetadataUrlPrefix.size()))] = std::string(payload);
    }
  });
  return info;
}

absl::Status InvalidField(absl::string_view field, absl::string_view message) {
  return WithErrorInfo(absl::InvalidArgumentError(absl::StrCat(field, ": ", message)),
                       {"INVALID_FIELD", {{"field", std::string(field)}}});
}

}  // namespace esgw
