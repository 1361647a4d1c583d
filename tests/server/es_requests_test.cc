// Validation and building of Elasticsearch requests (server/es_requests.h, server/validation.h).
#include "server/es_requests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "pool/error_info.h"
#include "server/validation.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

TEST(ValidateIndexNameTest, AcceptsElasticsearchNames) {
  for (const char* name : {"products", "logs-2024.01.01", "my_index", ".hidden", "a+b", "é"}) {
    EXPECT_THAT(ValidateIndexName(name, IndexUse::kWrite, "index"), IsOk()) << name;
  }
  EXPECT_THAT(ValidateIndexName("logs-*", IndexUse::kRead, "indices[0]"), IsOk());
  EXPECT_THAT(ValidateIndexName("_all", IndexUse::kRead, "indices[0]"), IsOk());
  EXPECT_THAT(ValidateIndexName("-logs-old", IndexUse::kRead, "indices[1]", false), IsOk());
}

TEST(ValidateIndexNameTest, RejectsEachRuleNamingField) {
  struct Case {
    const char* name;
    const char* rule;
  };
  for (const Case& c : std::vector<Case>{{"", "empty"},
                                         {"Products", "lowercase"},
                                         {"a/b", "'/'"},
                                         {"a\\b", "'\\'"},
                                         {"a?b", "'?'"},
                                         {"a\"b", "'\"'"},
                                         {"a<b", "'<'"},
                                         {"a>b", "'>'"},
                                         {"a|b", "'|'"},
                                         {"a,b", "','"},
                                         {"a#b", "'#'"},
                                         {"a b", "' '"},
                                         {"a:b", "':'"},
                                         {".", ". or .."},
                                         {"..", ". or .."},
                                         {"-a", "start with"},
                                         {"_a", "start with"},
                                         {"+a", "start with"},
                                         {"logs-*", "'*'"}}) {
    const absl::Status status = ValidateIndexName(c.name, IndexUse::kWrite, "ops[3].index");
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                                 ::testing::AllOf(HasSubstr("ops[3].index"), HasSubstr(c.rule))))
        << c.name;
    EXPECT_EQ(GetErrorInfo(status).metadata["field"], "ops[3].index");
  }
  EXPECT_THAT(ValidateIndexName(std::string(256, 'a'), IndexUse::kWrite, "index"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("255")));
  EXPECT_THAT(ValidateIndexName("-first", IndexUse::kRead, "indices[0]", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exclusion")));
}

TEST(PercentEncodeTest, LeavesOnlyUnreservedBytes) {
  EXPECT_EQ(PercentEncode("abc-._~09"), "abc-._~09");
  EXPECT_EQ(PercentEncode("a/b?c#d e&f=g%"), "a%2Fb%3Fc%23d%20e%26f%3Dg%25");
  EXPECT_EQ(PercentEncode("é"), "%C3%A9");
  EXPECT_EQ(PercentEncode("../_cluster"), "..%2F_cluster");
}

TEST(BuildSearchRequestTest, BuildsPathQueryAndBody) {
  esgw::v1::SearchRequest request;
  request.add_indices("products");
  request.add_indices("logs-*");
  request.set_routing("user/1");
  request.set_preference("_local");
  (*request.mutable_params())["track_total_hits"] = "true";
  (*request.mutable_params())["timeout"] = "1s";
  request.set_body_json(R"({"query":{"match_all":{}}})");
  auto http = BuildSearchRequest(request);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->method, HttpMethod::kPost);
  EXPECT_EQ(http->path,
            "/products,logs-%2A/_search?routing=user%2F1&preference=_local&timeout=1s"
            "&track_total_hits=true");
  EXPECT_EQ(http->body, R"({"query":{"match_all":{}}})");
  EXPECT_EQ(http->content_type, "application/json");
}

TEST(BuildSearchRequestTest, NoIndicesSearchesEverythingAndNoBodyIsMatchAll) {
  auto http = BuildSearchRequest(esgw::v1::SearchRequest());
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->path, "/_search");
  EXPECT_EQ(http->body, "{}");
}

TEST(BuildSearchRequestTest, StructBodyIsRenderedAsJson) {
  esgw::v1::SearchRequest request;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(R"({"size": 3})", request.mutable_body_struct())
          .ok());
  auto http = BuildSearchRequest(request);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->body, R"({"size":3})");
}

TEST(BuildSearchRequestTest, RejectsBadBodies) {
  esgw::v1::SearchRequest request;
  request.set_body_json("{\"query\": ");
  EXPECT_THAT(BuildSearchRequest(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("body_json: must be valid JSON")));
  request.set_body_json("[1, 2]");
  EXPECT_THAT(BuildSearchRequest(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be a JSON object")));
}

TEST(BuildSearchRequestTest, RejectsParamsOutsideTheAllowList) {
  esgw::v1::SearchRequest request;
  (*request.mutable_params())["filter_path"] = "hits";
  EXPECT_THAT(BuildSearchRequest(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("params[filter_path]"),
                                        HasSubstr("not an allowed search parameter"),
                                        HasSubstr("allowed: allow_no_indices, "
                                                  "allow_partial_search_results, "))));
  request.clear_params();
  (*request.mutable_params())["timeout"] = "";
  EXPECT_THAT(BuildSearchRequest(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("params[timeout]")));
}

TEST(BuildSearchRequestTest, RejectsPathSteering) {
  esgw::v1::SearchRequest request;
  request.add_indices("../_cluster/settings");
  EXPECT_THAT(BuildSearchRequest(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("indices[0]")));
  request.clear_indices();
  request.set_routing("a\nb");
  EXPECT_THAT(BuildSearchRequest(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("routing")));
}

// The status is INVALID_ARGUMENT naming field in its message and its ErrorInfo.
::testing::AssertionResult RejectsField(const absl::Status& status, const std::string& field,
                                        const std::string& rule = "") {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "expected INVALID_ARGUMENT, got " << status;
  }
  if (std::string(status.message()).find(field) == std::string::npos) {
    return ::testing::AssertionFailure() << "message does not name " << field << ": " << status;
  }
  if (std::string(status.message()).find(rule) == std::string::npos) {
    return ::testing::AssertionFailure() << "message does not say '" << rule << "': " << status;
  }
  ErrorInfo info = GetErrorInfo(status);
  if (info.reason != "INVALID_FIELD" || info.metadata["field"] != field) {
    return ::testing::AssertionFailure()
           << "ErrorInfo is " << info.reason << " field=" << info.metadata["field"];
  }
  return ::testing::AssertionSuccess();
}

template <typename T>
::testing::AssertionResult RejectsField(const absl::StatusOr<T>& result, const std::string& field,
                                        const std::string& rule = "") {
  return RejectsField(result.status(), field, rule);
}

TEST(ValidateDocumentIdTest, AcceptsUpTo512BytesOfAnything) {
  EXPECT_THAT(ValidateDocumentId("p-001", "id"), IsOk());
  EXPECT_THAT(ValidateDocumentId(std::string(512, 'x'), "id"), IsOk());
  EXPECT_THAT(ValidateDocumentId("a/b \"c\" \\ \n é _x", "id"), IsOk());
  EXPECT_TRUE(RejectsField(ValidateDocumentId("", "ops[1].id"), "ops[1].id", "empty"));
  EXPECT_TRUE(RejectsField(ValidateDocumentId(std::string(513, 'x'), "id"), "id", "512 bytes"));
}

TEST(BuildCountRequestTest, BuildsPathRoutingAndBody) {
  esgw::v1::CountRequest request;
  request.add_indices("products");
  request.add_indices("logs-*");
  request.add_indices("-logs-old");
  request.set_routing("user/1");
  request.set_body_json(R"({"query":{"term":{"brand":"acme"}}})");
  auto http = BuildCountRequest(request);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->method, HttpMethod::kPost);
  EXPECT_EQ(http->path, "/products,logs-%2A,-logs-old/_count?routing=user%2F1");
  EXPECT_EQ(http->body, R"({"query":{"term":{"brand":"acme"}}})");
  EXPECT_EQ(http->content_type, "application/json");
}

TEST(BuildCountRequestTest, NoIndicesCountsEverythingAndNoBodyIsMatchAll) {
  auto http = BuildCountRequest(esgw::v1::CountRequest());
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->path, "/_count");
  EXPECT_EQ(http->body, "{}");
  esgw::v1::CountRequest empty_json;
  empty_json.set_body_json("");
  http = BuildCountRequest(empty_json);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->body, "{}");
}

TEST(BuildCountRequestTest, StructBodyIsRenderedAsJson) {
  esgw::v1::CountRequest request;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(R"({"query":{"match_all":{}}})",
                                                          request.mutable_body_struct())
                  .ok());
  auto http = BuildCountRequest(request);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->body, R"({"query":{"match_all":{}}})");
}

TEST(BuildCountRequestTest, RejectsEachBadFieldByName) {
  esgw::v1::CountRequest request;
  request.add_indices("products");
  request.add_indices("../_cluster");
  EXPECT_TRUE(RejectsField(BuildCountRequest(request), "indices[1]", "'/'"));
  request.clear_indices();
  request.add_indices("-products");
  EXPECT_TRUE(RejectsField(BuildCountRequest(request), "indices[0]", "exclusion"));
  request.clear_indices();
  request.set_routing("a\nb");
  EXPECT_TRUE(RejectsField(BuildCountRequest(request), "routing", "control characters"));
  request.clear_routing();
  request.set_body_json(R"({"query": )");
  EXPECT_TRUE(RejectsField(BuildCountRequest(request), "body_json", "valid JSON"));
  request.set_body_json("\"match_all\"");
  EXPECT_TRUE(RejectsField(BuildCountRequest(request), "body_json", "JSON object"));
}

TEST(BuildGetRequestTest, BuildsPathAndQuery) {
  esgw::v1::GetRequest request;
  request.set_index("products");
  request.set_id("p-001");
  auto http = BuildGetRequest(request);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->method, HttpMethod::kGet);
  EXPECT_EQ(http->path, "/products/_doc/p-001");
  EXPECT_EQ(http->body, "");
  EXPECT_EQ(http->content_type, "");

  request.set_routing("user 1");
  request.set_preference("_local");
  request.set_refresh(true);
  http = BuildGetRequest(request);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->path, "/products/_doc/p-001?routing=user%201&preference=_local&refresh=true");
}

TEST(BuildGetRequestTest, PercentEncodesTheIdIntoOnePathSegment) {
  struct Case {
    std::string id;
    std::string segment;
  };
  for (const Case& c : std::vector<Case>{
           {"a/b", "a%2Fb"},
           {"../_cluster/settings", "..%2F_cluster%2Fsettings"},
           {"q?x=1#frag", "q%3Fx%3D1%23frag"},
           {R"(say "hi")", "say%20%22hi%22"},
           {R"(back\slash)", "back%5Cslash"},
           {"é日", "%C3%A9%E6%97%A5"},
           {"tab\tnl\n", "tab%09nl%0A"},
           {std::string("nul\0", 4), "nul%00"},
           {"100%", "100%25"},
           {"a+b&c;d", "a%2Bb%26c%3Bd"},
           // Dot segments would be squashed by URL normalisation; encoded they stay ids.
           {".", "%2E"},
           {"..", "%2E%2E"},
           {"...", "..."},
           {"_doc", "_doc"},
       }) {
    esgw::v1::GetRequest request;
    request.set_index("products");
    request.set_id(c.id);
    auto http = BuildGetRequest(request);
    ASSERT_THAT(http, IsOk()) << c.id;
    EXPECT_EQ(http->path, "/products/_doc/" + c.segment) << c.id;
  }
}

TEST(BuildGetRequestTest, RejectsEachBadFieldByName) {
  esgw::v1::GetRequest request;
  request.set_id("p-001");
  EXPECT_TRUE(RejectsField(BuildGetRequest(request), "index", "empty"));
  for (const char* index : {"logs-*", "products,logs", "_all", "Products", "a/b", "-products"}) {
    request.set_index(index);
    EXPECT_TRUE(RejectsField(BuildGetRequest(request), "index")) << index;
  }
  request.set_index("products");
  request.set_id("");
  EXPECT_TRUE(RejectsField(BuildGetRequest(request), "id", "empty"));
  request.set_id(std::string(513, 'x'));
  EXPECT_TRUE(RejectsField(BuildGetRequest(request), "id", "512"));
  request.set_id(std::string(512, 'x'));
  EXPECT_THAT(BuildGetRequest(request), IsOk());
  request.set_routing("a\r\nX-Injected: 1");
  EXPECT_TRUE(RejectsField(BuildGetRequest(request), "routing", "control characters"));
  request.clear_routing();
  request.set_preference(std::string(513, 'p'));
  EXPECT_TRUE(RejectsField(BuildGetRequest(request), "preference", "512"));
}

// The NDJSON lines of a body that must end in a newline.
std::vector<std::string> Lines(const std::string& ndjson) {
  EXPECT_TRUE(absl::EndsWith(ndjson, "\n")) << ndjson;
  std::vector<std::string> lines = absl::StrSplit(ndjson, '\n');
  lines.pop_back();  // after the last newline
  return lines;
}

TEST(BuildMultiSearchRequestTest, BuildsHeaderAndBodyLinesInOrder) {
  esgw::v1::MultiSearchRequest request;
  esgw::v1::SearchRequest* first = request.add_searches();
  first->add_indices("products");
  first->add_indices("logs-*");
  first->set_routing("user-1");
  first->set_preference("_local");
  (*first->mutable_params())["search_type"] = "dfs_query_then_fetch";
  (*first->mutable_params())["request_cache"] = "true";
  (*first->mutable_params())["ignore_unavailable"] = "false";
  (*first->mutable_params())["expand_wildcards"] = "open,hidden";
  first->set_body_json(R"({"query":{"match_all":{}},"size":2})");
  request.add_searches();  // everything, match_all
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"size": 1})", request.add_searches()->mutable_body_struct())
                  .ok());
  auto http = BuildMultiSearchRequest(request);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->method, HttpMethod::kPost);
  EXPECT_EQ(http->path, "/_msearch");
  EXPECT_EQ(http->content_type, "application/x-ndjson");
  EXPECT_THAT(
      Lines(http->body),
      ElementsAre(R"({"index":["products","logs-*"],"routing":"user-1",)"
                  R"("preference":"_local","expand_wildcards":"open,hidden",)"
                  R"("ignore_unavailable":false,"request_cache":true,)"
                  R"("search_type":"dfs_query_then_fetch"})",
                  R"({"query":{"match_all":{}},"size":2})", "{}", "{}", "{}", R"({"size":1})"));
}

TEST(BuildMultiSearchRequestTest, MaxConcurrentSearchesBecomesAUrlParameter) {
  esgw::v1::MultiSearchRequest request;
  request.add_searches();
  request.set_max_concurrent_searches(4);
  auto http = BuildMultiSearchRequest(request);
  ASSERT_THAT(http, IsOk());
  EXPECT_EQ(http->path, "/_msearch?max_concurrent_searches=4");
  request.set_max_concurrent_searches(-1);
  EXPECT_TRUE(RejectsField(BuildMultiSearchRequest(request), "max_concurrent_searches"));
}

TEST(BuildMultiSearchRequestTest, EscapesEveryHeaderString) {
  esgw::v1::MultiSearchRequest request;
  esgw::v1::SearchRequest* search = request.add_searches();
  search->add_indices("é-index");
  search->add_indices("logs+2024");
  search->set_routing(R"(a"b\c)");
  // Would end the header and start another search if it were pasted in unescaped.
  search->set_preference("日本 \xF0\x9F\x98\x80 \"},{\"index\":\"secret\"}\\u000a");
  (*search->mutable_params())["expand_wildcards"] = R"(open"\)";
  auto http = BuildMultiSearchRequest(request);
  ASSERT_THAT(http, IsOk());
  const std::vector<std::string> lines = Lines(http->body);
  ASSERT_EQ(lines.size(), 2u) << http->body;
  EXPECT_EQ(lines[0], R"({"index":["é-index","logs+2024"],"routing":"a\"b\\c",)"
                      R"("preference":"日本 )"
                      "\xF0\x9F\x98\x80"
                      R"( \"},{\"index\":\"secret\"}\\u000a","expand_wildcards":"open\"\\"})");
  google::protobuf::Struct header;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &header).ok()) << lines[0];
  ASSERT_EQ(header.fields().at("index").list_value().values_size(), 2);
  EXPECT_EQ(header.fields().at("index").list_value().values(0).string_value(), "é-index");
  EXPECT_EQ(header.fields().at("routing").string_value(), search->routing());
  EXPECT_EQ(header.fields().at("preference").string_value(), search->preference());
  EXPECT_EQ(header.fields().at("expand_wildcards").string_value(), R"(open"\)");
  EXPECT_EQ(header.fields_size(), 4);
}

TEST(BuildMultiSearchRequestTest, PrettyPrintedBodiesBecomeOneLine) {
  esgw::v1::MultiSearchRequest request;
  request.add_searches()->set_body_json(
      "{\r\n  \"query\": {\n    \"match\": {\"name\": \"two\\nlines \\\"q\\\"\"}\n  },\r\n"
      "  \"size\": 3\n}\n");
  request.add_searches()->set_body_json("\n\n{}\n\n");
  auto http = BuildMultiSearchRequest(request);
  ASSERT_THAT(http, IsOk());
  const std::vector<std::string> lines = Lines(http->body);
  ASSERT_EQ(lines.size(), 4u) << http->body;
  EXPECT_EQ(lines[1],
            "{    \"query\": {     \"match\": {\"name\": \"two\\nlines \\\"q\\\"\"}   },  "
            "  \"size\": 3 } ");
  google::protobuf::Struct body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[1], &body).ok()) << lines[1];
  EXPECT_EQ(body.fields()
                .at("query")
                .struct_value()
                .fields()
                .at("match")
                .struct_value()
                .fields()
                .at("name")
                .string_value(),
            "two\nlines \"q\"");
  EXPECT_EQ(lines[3], "  {}  ");
}

TEST(BuildMultiSearchRequestTest, RawNewlineInsideAStringIsInvalidJson) {
  esgw::v1::MultiSearchRequest request;
  request.add_searches()->set_body_json("{\"query\":{\"match\":{\"name\":\"a\nb\"}}}");
  EXPECT_TRUE(RejectsField(BuildMultiSearchRequest(request), "searches[0].body_json"));
}

TEST(BuildMultiSearchRequestTest, RejectsEachBadFieldByNameAndIndex) {
  EXPECT_TRUE(
      RejectsField(BuildMultiSearchRequest(esgw::v1::MultiSearchRequest()), "searches", "one"));

  // Every search but the one under test is valid, so the index in the field name is checked.
  const auto with_bad = [](int bad, auto mutate) {
    esgw::v1::MultiSearchRequest request;
    for (int i = 0; i < 3; ++i) {
      esgw::v1::SearchRequest* search = request.add_searches();
      search->add_indices("products");
      if (i == bad) mutate(search);
    }
    return BuildMultiSearchRequest(request);
  };
  EXPECT_TRUE(RejectsField(with_bad(1,
                                    [](esgw::v1::SearchRequest* s) {
                                      s->add_indices("logs");
                                      s->add_indices("a\"b");
                                    }),
                           "searches[1].indices[2]", "'\"'"));
  EXPECT_TRUE(RejectsField(with_bad(0,
                                    [](esgw::v1::SearchRequest* s) {
                                      s->clear_indices();
                                      s->add_indices("-products");
                                    }),
                           "searches[0].indices[0]", "exclusion"));
  EXPECT_TRUE(RejectsField(with_bad(2, [](esgw::v1::SearchRequest* s) { s->set_routing("a\nb"); }),
                           "searches[2].routing", "control characters"));
  EXPECT_TRUE(RejectsField(
      with_bad(1, [](esgw::v1::SearchRequest* s) { s->set_preference(std::string(600, 'p')); }),
      "searches[1].preference", "512"));
  EXPECT_TRUE(RejectsField(
      with_bad(2, [](esgw::v1::SearchRequest* s) { (*s->mutable_params())["timeout"] = "1s"; }),
      "searches[2].params[timeout]",
      "not an allowed multi-search header parameter; allowed: "
      "allow_no_indices, allow_partial_search_results, "
      "ccs_minimize_roundtrips, expand_wildcards, ignore_unavailable, "
      "request_cache, search_type"));
  EXPECT_TRUE(RejectsField(
      with_bad(0,
               [](esgw::v1::SearchRequest* s) { (*s->mutable_params())["filter_path"] = "hits"; }),
      "searches[0].params[filter_path]", "not an allowed"));
  EXPECT_TRUE(RejectsField(
      with_bad(1,
               [](esgw::v1::SearchRequest* s) { (*s->mutable_params())["request_cache"] = "yes"; }),
      "searches[1].params[request_cache]", "true or false"));
  EXPECT_TRUE(RejectsField(
      with_bad(1, [](esgw::v1::SearchRequest* s) { (*s->mutable_params())["search_type"] = ""; }),
      "searches[1].params[search_type]", "empty"));
  EXPECT_TRUE(RejectsField(
      with_bad(2, [](esgw::v1::SearchRequest* s) { s->set_body_json(R"({"query": )"); }),
      "searches[2].body_json", "valid JSON"));
  EXPECT_TRUE(RejectsField(with_bad(0, [](esgw::v1::SearchRequest* s) { s->set_body_json("[]"); }),
                           "searches[0].body_json", "JSON object"));
}

}  // namespace
}  // namespace esgw
