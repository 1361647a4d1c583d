// Fuzz target: any bytes as a serialized MultiSearchRequest, validated and turned into an
// _msearch request by BuildMultiSearchRequest (server/es_requests.h); each search's body then
// goes through SearchBodyJson and FindIndexReferences as the gateway does for authorization.
// Invariants: a rejection is INVALID_ARGUMENT naming the field; an accepted request is POST
// /_msearch (with max_concurrent_searches exactly when it was set) carrying NDJSON of exactly two
// lines per search, each line one JSON object: a header whose "index" lists exactly the search's
// targets and whose other keys are routing, preference or an allowed header parameter, and the
// search's body.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "esgw/v1/gateway.pb.h"
#include "server/es_requests.h"
#include "server/index_references.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/request_checks.h"

namespace {

simdjson::dom::parser& Parser() {
  static simdjson::dom::parser parser;
  return parser;
}

void CheckHeader(absl::string_view line, const esgw::v1::SearchRequest& search) {
  simdjson::dom::element root;
  ESGW_FUZZ_CHECK_NOTE(esgw::fuzz::IsJsonObject(line, Parser(), &root), line);
  size_t indices = 0;
  bool has_index = false;
  simdjson::dom::object header;
  ESGW_FUZZ_CHECK(root.get_object().get(header) == simdjson::SUCCESS);
  for (const simdjson::dom::key_value_pair member : header) {
    const std::string_view key = member.key;
    if (key == "index") {
      ESGW_FUZZ_CHECK(!has_index);
      has_index = true;
      simdjson::dom::array names;
      ESGW_FUZZ_CHECK(member.value.get_array().get(names) == simdjson::SUCCESS);
      for (const simdjson::dom::element name : names) {
        std::string_view text;
        ESGW_FUZZ_CHECK(name.get_string().get(text) == simdjson::SUCCESS);
        ESGW_FUZZ_CHECK(indices < static_cast<size_t>(search.indices_size()));
        ESGW_FUZZ_CHECK(text == search.indices(static_cast<int>(indices)));
        ++indices;
      }
      continue;
    }
    static const char* const kAllowed[] = {
        "routing",          "preference",         "allow_no_indices",
        "expand_wildcards", "ignore_unavailable", "allow_partial_search_results",
        "request_cache",    "search_type",        "ccs_minimize_roundtrips"};
    bool allowed = false;
    for (const char* name : kAllowed) allowed = allowed || key == name;
    ESGW_FUZZ_CHECK_NOTE(allowed, std::string(key));
  }
  ESGW_FUZZ_CHECK(indices == static_cast<size_t>(search.indices_size()));
  ESGW_FUZZ_CHECK(has_index == !search.indices().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  esgw::v1::MultiSearchRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const absl::StatusOr<esgw::HttpRequest> http = esgw::BuildMultiSearchRequest(request);
  if (!http.ok()) {
    esgw::fuzz::CheckRejected(http.status());
    return 0;
  }
  ESGW_FUZZ_CHECK(http->method == esgw::HttpMethod::kPost);
  ESGW_FUZZ_CHECK(http->content_type == "application/x-ndjson");
  const std::string expected_path =
      request.max_concurrent_searches() > 0
          ? absl::StrCat("/_msearch?max_concurrent_searches=", request.max_concurrent_searches())
          : "/_msearch";
  ESGW_FUZZ_CHECK(http->path == expected_path);
  esgw::fuzz::CheckPath(http->path);

  ESGW_FUZZ_CHECK(!http->body.empty() && http->body.back() == '\n');
  std::vector<absl::string_view> lines = absl::StrSplit(http->body, '\n');
  lines.pop_back();  // After the last newline.
  ESGW_FUZZ_CHECK(lines.size() == 2 * static_cast<size_t>(request.searches_size()));
  for (int i = 0; i < request.searches_size(); ++i) {
    const esgw::v1::SearchRequest& search = request.searches(i);
    CheckHeader(lines[2 * i], search);
    const absl::string_view body_line = lines[2 * i + 1];
    ESGW_FUZZ_CHECK_NOTE(esgw::fuzz::IsJsonObject(body_line, Parser()), body_line);
    ESGW_FUZZ_CHECK(body_line.find('\r') == absl::string_view::npos);

    // As the gateway checks the indices a search body reads.
    const std::string prefix = absl::StrCat("searches[", i, "].");
    const absl::StatusOr<std::string> body = esgw::SearchBodyJson(search, prefix);
    ESGW_FUZZ_CHECK(body.ok());
    ESGW_FUZZ_CHECK(body->size() == body_line.size());
    const absl::StatusOr<std::vector<esgw::IndexReference>> references =
        esgw::FindIndexReferences(*body, absl::StrCat(prefix, "body_json"));
    if (!references.ok()) esgw::fuzz::CheckRejected(references.status());
  }
  return 0;
}
