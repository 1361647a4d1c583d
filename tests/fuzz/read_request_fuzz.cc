// Fuzz target: any bytes as a serialized SearchRequest, CountRequest and GetRequest (the same
// bytes tried as each), validated and turned into Elasticsearch requests by BuildSearchRequest,
// BuildCountRequest and BuildGetRequest (server/es_requests.h); a search body then goes through
// FindIndexReferences (server/index_references.h) as the gateway does for authorization.
// Invariants: a rejection is INVALID_ARGUMENT naming the field; an accepted request becomes a
// path of unreserved characters and %XX whose segments decode to exactly the targets, index and
// id asked for (no dot segment, nothing that could reach another endpoint), a query of exactly the
// routing, preference and allow-listed parameters given, and a body that is a JSON object (the
// client's body_json as it was sent) in which index references can be looked for.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "esgw/v1/gateway.pb.h"
#include "server/es_requests.h"
#include "server/index_references.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/request_checks.h"

namespace {

using esgw::fuzz::CheckPath;
using esgw::fuzz::PercentDecode;
using Query = std::vector<std::pair<std::string, std::string>>;

simdjson::dom::parser& Parser() {
  static simdjson::dom::parser parser;
  return parser;
}

// The path's first segments name exactly targets, then comes endpoint.
void CheckTargets(const esgw::fuzz::SplitPath& path,
                  const google::protobuf::RepeatedPtrField<std::string>& targets,
                  absl::string_view endpoint) {
  if (targets.empty()) {
    ESGW_FUZZ_CHECK(path.segments.size() == 1 && path.segments[0] == endpoint);
    return;
  }
  ESGW_FUZZ_CHECK(path.segments.size() == 2 && path.segments[1] == endpoint);
  const std::vector<absl::string_view> names = absl::StrSplit(path.segments[0], ',');
  ESGW_FUZZ_CHECK(names.size() == static_cast<size_t>(targets.size()));
  for (size_t i = 0; i < names.size(); ++i) {
    std::string decoded;
    ESGW_FUZZ_CHECK(PercentDecode(names[i], &decoded));
    ESGW_FUZZ_CHECK(decoded == targets[static_cast<int>(i)]);
  }
}

// A body that is sent: a JSON object, and one that FindIndexReferences can read (it may still
// refuse it for its depth or its number of references, never for its syntax).
void CheckBody(const std::string& body) {
  ESGW_FUZZ_CHECK_NOTE(esgw::fuzz::IsJsonObject(body, Parser()), body);
  const absl::StatusOr<std::vector<esgw::IndexReference>> references =
      esgw::FindIndexReferences(body, "body_json");
  if (!references.ok()) {
    esgw::fuzz::CheckRejected(references.status());
    ESGW_FUZZ_CHECK_NOTE(!absl::StrContains(references.status().message(), "valid JSON") &&
                             !absl::StrContains(references.status().message(), "JSON object"),
                         references.status().ToString());
  }
}

void FuzzSearch(const uint8_t* data, size_t size) {
  esgw::v1::SearchRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  const absl::StatusOr<esgw::HttpRequest> http = esgw::BuildSearchRequest(request);
  if (!http.ok()) {
    esgw::fuzz::CheckRejected(http.status());
    return;
  }
  ESGW_FUZZ_CHECK(http->method == esgw::HttpMethod::kPost);
  ESGW_FUZZ_CHECK(http->content_type == "application/json");
  const esgw::fuzz::SplitPath path = CheckPath(http->path);
  CheckTargets(path, request.indices(), "_search");
  Query expected;
  if (!request.routing().empty()) expected.emplace_back("routing", request.routing());
  if (!request.preference().empty()) expected.emplace_back("preference", request.preference());
  Query params(request.params().begin(), request.params().end());
  std::sort(params.begin(), params.end());
  expected.insert(expected.end(), params.begin(), params.end());
  ESGW_FUZZ_CHECK(path.query == expected);
  for (const auto& [key, value] : path.query) {
    ESGW_FUZZ_CHECK(key != "scroll" && key != "filter_path" && key != "format");
  }
  if (request.body_case() == esgw::v1::SearchRequest::kBodyJson && !request.body_json().empty()) {
    ESGW_FUZZ_CHECK(http->body == request.body_json());
  }
  const absl::StatusOr<std::string> body = esgw::SearchBodyJson(request, "");
  ESGW_FUZZ_CHECK(body.ok() && *body == http->body);
  CheckBody(http->body);
}

void FuzzCount(const uint8_t* data, size_t size) {
  esgw::v1::CountRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  const absl::StatusOr<esgw::HttpRequest> http = esgw::BuildCountRequest(request);
  if (!http.ok()) {
    esgw::fuzz::CheckRejected(http.status());
    return;
  }
  ESGW_FUZZ_CHECK(http->method == esgw::HttpMethod::kPost);
  const esgw::fuzz::SplitPath path = CheckPath(http->path);
  CheckTargets(path, request.indices(), "_count");
  Query expected;
  if (!request.routing().empty()) expected.emplace_back("routing", request.routing());
  ESGW_FUZZ_CHECK(path.query == expected);
  if (request.body_case() == esgw::v1::CountRequest::kBodyJson && !request.body_json().empty()) {
    ESGW_FUZZ_CHECK(http->body == request.body_json());
  }
  CheckBody(http->body);
}

void FuzzGet(const uint8_t* data, size_t size) {
  esgw::v1::GetRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  const absl::StatusOr<esgw::HttpRequest> http = esgw::BuildGetRequest(request);
  if (!http.ok()) {
    esgw::fuzz::CheckRejected(http.status());
    return;
  }
  ESGW_FUZZ_CHECK(http->method == esgw::HttpMethod::kGet);
  ESGW_FUZZ_CHECK(http->body.empty());
  const esgw::fuzz::SplitPath path = CheckPath(http->path);
  ESGW_FUZZ_CHECK(path.segments.size() == 3 && path.segments[1] == "_doc");
  std::string index;
  std::string id;
  ESGW_FUZZ_CHECK(PercentDecode(path.segments[0], &index) && index == request.index());
  ESGW_FUZZ_CHECK(PercentDecode(path.segments[2], &id) && id == request.id());
  Query expected;
  if (!request.routing().empty()) expected.emplace_back("routing", request.routing());
  if (!request.preference().empty()) expected.emplace_back("preference", request.preference());
  if (request.refresh()) expected.emplace_back("refresh", "true");
  ESGW_FUZZ_CHECK(path.query == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzSearch(data, size);
  FuzzCount(data, size);
  FuzzGet(data, size);
  return 0;
}
