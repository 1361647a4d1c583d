// Fuzz target: any bytes as the body of a _bulk response, read by ParseBulkResponse
// (server/es_response.h) through both of its overloads.
// Invariants: the two overloads agree (with and without took/errors outputs) and the items are
// cleared first; a failure is INTERNAL with ErrorInfo BAD_ES_RESPONSE and a path; on success each
// item has exactly the one action it was reported under, valid UTF-8 everywhere, and is marked
// backpressure exactly when the header says (status 429 or an es_rejected_execution_exception).

#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/es_response.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/response_checks.h"

namespace {

bool SameItems(const std::vector<esgw::BulkItemOutcome>& a,
               const std::vector<esgw::BulkItemOutcome>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].op != b[i].op || a[i].backpressure != b[i].backpressure ||
        !google::protobuf::util::MessageDifferencer::Equals(a[i].result, b[i].result)) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr absl::string_view kRejected = "es_rejected_execution_exception";
  const absl::string_view body(reinterpret_cast<const char*>(data), size);

  std::vector<esgw::BulkItemOutcome> copied;
  int64_t took_ms = -1;
  bool errors = false;
  const absl::Status status = esgw::ParseBulkResponse(body, &copied, &took_ms, &errors);

  const std::string padded = esgw::fuzz::PaddedCopy(body);
  // Left over from an earlier use: the parser must clear it.
  std::vector<esgw::BulkItemOutcome> in_place(1);
  in_place[0].op = "stale";
  const absl::Status again =
      esgw::ParseBulkResponse(esgw::fuzz::PaddedView(padded), &in_place, nullptr, nullptr);
  ESGW_FUZZ_CHECK_NOTE(status == again, status.ToString() + " vs " + again.ToString());

  if (!status.ok()) {
    esgw::fuzz::CheckBadEsResponse(status);
    return 0;
  }
  ESGW_FUZZ_CHECK(SameItems(copied, in_place));
  // Without "took" the output is 0, never left as it was.
  ESGW_FUZZ_CHECK(took_ms != -1 || absl::StrContains(body, "-1"));
  // Every item takes at least {"":{}} of the body.
  ESGW_FUZZ_CHECK(copied.size() <= size / 7);
  for (const esgw::BulkItemOutcome& item : copied) {
    ESGW_FUZZ_CHECK(esgw::fuzz::IsUtf8(item.op));
    esgw::fuzz::CheckStringsAreUtf8(item.result);
    const bool rejected = item.result.status() == 429 || item.result.error().type() == kRejected ||
                          item.result.error().caused_by_type() == kRejected;
    ESGW_FUZZ_CHECK(item.backpressure == rejected);
    // seq and attempts are the caller's to fill.
    ESGW_FUZZ_CHECK(item.result.seq() == 0 && item.result.attempts() == 0);
  }
  return 0;
}
