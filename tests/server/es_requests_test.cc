// Validation and building of Elasticsearch requests (server/es_requests.h, server/validation.h).
#include "server/es_requests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/util/json_util.h"
#include "pool/error_info.h"
#include "server/validation.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

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

}  // namespace
}  // namespace esgw
