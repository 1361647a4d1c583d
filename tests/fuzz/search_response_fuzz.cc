// Fuzz target: any bytes as the body of a _search response, read by ParseSearchResponse
// (server/es_response.h) through both of its overloads.
// Invariants: the two overloads agree, and the output is cleared first; a failure is INTERNAL
// with ErrorInfo BAD_ES_RESPONSE and a path; a success has valid UTF-8 in every string, and every
// free-form value (_source, sort, highlight, fields, aggregations) is the exact bytes of one JSON
// value of the body.

#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/es_response.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/response_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using esgw::fuzz::CheckRawJson;
  const absl::string_view body(reinterpret_cast<const char*>(data), size);

  esgw::v1::SearchResponse copied;
  const absl::Status status = esgw::ParseSearchResponse(body, &copied);

  const std::string padded = esgw::fuzz::PaddedCopy(body);
  esgw::v1::SearchResponse in_place;
  // Left over from an earlier use: the parser must clear it.
  in_place.set_took_ms(7);
  in_place.add_hits()->set_id("stale");
  const absl::Status again = esgw::ParseSearchResponse(esgw::fuzz::PaddedView(padded), &in_place);
  ESGW_FUZZ_CHECK_NOTE(status == again, status.ToString() + " vs " + again.ToString());

  if (!status.ok()) {
    esgw::fuzz::CheckBadEsResponse(status);
    return 0;
  }
  ESGW_FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(copied, in_place));
  esgw::fuzz::CheckStringsAreUtf8(copied);
  // Every hit takes at least "{}" of the body.
  ESGW_FUZZ_CHECK(static_cast<size_t>(copied.hits_size()) <= size / 2);
  for (const esgw::v1::Hit& hit : copied.hits()) {
    CheckRawJson(body, hit.source_json());
    CheckRawJson(body, hit.sort_json());
    CheckRawJson(body, hit.highlight_json());
    CheckRawJson(body, hit.fields_json());
  }
  CheckRawJson(body, copied.aggregations_json());
  // The node's address is the gateway's to fill, never the body's.
  ESGW_FUZZ_CHECK(copied.served_by().empty());
  return 0;
}
