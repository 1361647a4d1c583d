// Fuzz target: any bytes as the body of a _count, _doc (GET) or _cluster/health response, read by
// ParseCountResponse, ParseGetResponse and ParseClusterHealth (server/es_response.h) through both
// of their overloads.
// Invariants: the two overloads agree, and the output is cleared first; a failure is INTERNAL
// with ErrorInfo BAD_ES_RESPONSE and a path; on success every string is valid UTF-8 and a
// document's _source is the exact bytes of one JSON value of the body.

#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/es_response.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/response_checks.h"

namespace {

using google::protobuf::util::MessageDifferencer;

// Parses body with both overloads of parse into messages of type Message (the in-place one
// pre-filled with stale, which must be cleared), checks they agree and returns the result.
template <typename Message, typename Parse>
absl::Status ParseBoth(absl::string_view body, Parse parse, const Message& stale, Message* out) {
  const absl::Status status = parse(body, out);
  const std::string padded = esgw::fuzz::PaddedCopy(body);
  Message in_place = stale;
  const absl::Status again = parse(esgw::fuzz::PaddedView(padded), &in_place);
  ESGW_FUZZ_CHECK_NOTE(status == again, status.ToString() + " vs " + again.ToString());
  if (!status.ok()) {
    esgw::fuzz::CheckBadEsResponse(status);
  } else {
    ESGW_FUZZ_CHECK(MessageDifferencer::Equals(*out, in_place));
    esgw::fuzz::CheckStringsAreUtf8(*out);
    ESGW_FUZZ_CHECK(out->served_by().empty());
  }
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);

  esgw::v1::CountResponse stale_count;
  stale_count.set_count(7);
  stale_count.mutable_shards()->set_failed(1);
  esgw::v1::CountResponse count;
  if (ParseBoth(
          body,
          [](auto text, esgw::v1::CountResponse* out) {
            return esgw::ParseCountResponse(text, out);
          },
          stale_count, &count)
          .ok()) {
    // "count" is required.
    ESGW_FUZZ_CHECK(absl::StrContains(body, "count") || absl::StrContains(body, "\\u"));
  }

  esgw::v1::GetResponse stale_get;
  stale_get.set_found(true);
  stale_get.set_source_json("{\"stale\":1}");
  esgw::v1::GetResponse get;
  if (ParseBoth(
          body,
          [](auto text, esgw::v1::GetResponse* out) { return esgw::ParseGetResponse(text, out); },
          stale_get, &get)
          .ok()) {
    esgw::fuzz::CheckRawJson(body, get.source_json());
  }

  esgw::v1::ClusterHealth stale_health;
  stale_health.set_status("red");
  stale_health.set_number_of_nodes(3);
  esgw::v1::ClusterHealth health;
  const absl::Status health_status = esgw::ParseClusterHealth(body, &health);
  const std::string padded = esgw::fuzz::PaddedCopy(body);
  esgw::v1::ClusterHealth health_in_place = stale_health;
  const absl::Status health_again =
      esgw::ParseClusterHealth(esgw::fuzz::PaddedView(padded), &health_in_place);
  ESGW_FUZZ_CHECK(health_status == health_again);
  if (!health_status.ok()) {
    esgw::fuzz::CheckBadEsResponse(health_status);
  } else {
    ESGW_FUZZ_CHECK(MessageDifferencer::Equals(health, health_in_place));
    esgw::fuzz::CheckStringsAreUtf8(health);
    // fetched_at and error are the caller's to fill.
    ESGW_FUZZ_CHECK(!health.has_fetched_at() && health.error().empty());
  }
  return 0;
}
