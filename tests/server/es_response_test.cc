#include "server/es_response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pool/error_info.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::testing::DoubleEq;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(ESGW_SOURCE_DIR) + "/tests/server/fixtures/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// Expects a BAD_ES_RESPONSE status whose message names path.
MATCHER_P(IsBadResponseAt, path, "is INTERNAL/BAD_ES_RESPONSE at " + std::string(path)) {
  if (arg.code() != absl::StatusCode::kInternal) {
    *result_listener << "status is " << arg;
    return false;
  }
  const ErrorInfo info = GetErrorInfo(arg);
  const auto it = info.metadata.find("path");
  *result_listener << "status is " << arg;
  return info.reason == "BAD_ES_RESPONSE" && it != info.metadata.end() && it->second == path;
}

// ---- Search. ----

TEST(ParseSearchResponseTest, Basic) {
  const std::string body = Fixture("search_basic.json");
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(body, &response), IsOk());

  EXPECT_EQ(response.took_ms(), 5);
  EXPECT_FALSE(response.timed_out());
  EXPECT_EQ(response.shards().total(), 3);
  EXPECT_EQ(response.shards().successful(), 3);
  EXPECT_EQ(response.shards().skipped(), 0);
  EXPECT_EQ(response.shards().failed(), 0);
  ASSERT_TRUE(response.has_total());
  EXPECT_EQ(response.total().value(), 2);
  EXPECT_EQ(response.total().relation(), v1::TotalHits::RELATION_EQ);
  ASSERT_TRUE(response.has_max_score());
  EXPECT_THAT(response.max_score(), DoubleEq(1.3862942));
  EXPECT_EQ(response.aggregations_json(), "");
  EXPECT_EQ(response.scroll_id(), "");
  ASSERT_THAT(response.hits(), SizeIs(2));

  const v1::Hit& first = response.hits(0);
  EXPECT_EQ(first.index(), "products");
  EXPECT_EQ(first.id(), "p-1");
  ASSERT_TRUE(first.has_score());
  EXPECT_THAT(first.score(), DoubleEq(1.3862942));
  EXPECT_EQ(first.routing(), "tenant-a");
  // The exact bytes: the escape, the spacing, 49.50 and 3.0e1 all survive.
  const std::string first_source = R"({
          "name" : "Caf\u00e9 grinder",
          "price" : 49.50,
          "tags" : [ "kitchen", "coffee" ],
          "dims" : { "w" : 12, "h" : 3.0e1 }
        })";
  EXPECT_EQ(first.source_json(), first_source);
  EXPECT_THAT(body, HasSubstr("\"_source\" : " + first_source + ",\n"));
  EXPECT_EQ(first.highlight_json(), R"({
          "name" : [ "<em>Café</em> grinder" ]
        })");
  EXPECT_EQ(first.sort_json(), "");
  EXPECT_EQ(first.fields_json(), "");

  const v1::Hit& second = response.hits(1);
  EXPECT_EQ(second.id(), "p-2");
  EXPECT_EQ(second.routing(), "");
  EXPECT_EQ(second.source_json(), R"({"name":"Tea kettle","price":25,"notes":null})");
  EXPECT_EQ(second.fields_json(), R"({
          "price_eur" : [ 23.1 ]
        })");
}

TEST(ParseSearchResponseTest, SortedWithNullScores) {
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(Fixture("search_sorted.json"), &response), IsOk());
  EXPECT_EQ(response.took_ms(), 17);
  EXPECT_EQ(response.shards().total(), 5);
  EXPECT_EQ(response.shards().successful(), 4);
  EXPECT_EQ(response.shards().skipped(), 1);
  EXPECT_EQ(response.shards().failed(), 1);
  EXPECT_EQ(response.total().value(), 10000);
  EXPECT_EQ(response.total().relation(), v1::TotalHits::RELATION_GTE);
  EXPECT_FALSE(response.has_max_score());
  ASSERT_THAT(response.hits(), SizeIs(2));
  EXPECT_FALSE(response.hits(0).has_score());
  EXPECT_FALSE(response.hits(1).has_score());
  EXPECT_EQ(response.hits(0).sort_json(), R"([
          1705312800000,
          "e-100"
        ])");
  EXPECT_EQ(response.hits(1).sort_json(), "[1705312798000, null]");
  EXPECT_EQ(response.hits(1).source_json(), R"({
          "ts" : "2024-01-15T09:59:58Z",
          "user" : null
        })");
}

TEST(ParseSearchResponseTest, Aggregations) {
  const std::string body = Fixture("search_aggs.json");
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(body, &response), IsOk());
  EXPECT_THAT(response.hits(), SizeIs(0));
  EXPECT_EQ(response.total().value(), 7);
  EXPECT_FALSE(response.has_max_score());
  const size_t start = body.find("{", body.find("\"aggregations\""));
  const size_t end = body.rfind('}', body.rfind('}') - 1) + 1;  // Before the top-level '}'.
  EXPECT_EQ(response.aggregations_json(), body.substr(start, end - start));
  EXPECT_THAT(response.aggregations_json(), HasSubstr(R"("key" : "blue")"));
}

TEST(ParseSearchResponseTest, TotalAsInt) {
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(Fixture("search_total_as_int.json"), &response), IsOk());
  ASSERT_TRUE(response.has_total());
  EXPECT_EQ(response.total().value(), 42);
  EXPECT_EQ(response.total().relation(), v1::TotalHits::RELATION_EQ);
  ASSERT_THAT(response.hits(), SizeIs(1));
  EXPECT_EQ(response.hits(0).id(), "1");
  EXPECT_EQ(response.hits(0).source_json(), R"({
          "title" : "old but gold"
        })");
}

TEST(ParseSearchResponseTest, TotalAsIntMinusOneMeansNotTracked) {
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(R"({"hits":{"total":-1,"hits":[]}})", &response), IsOk());
  EXPECT_FALSE(response.has_total());
}

TEST(ParseSearchResponseTest, NoTotalAndScroll) {
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(Fixture("search_no_total.json"), &response), IsOk());
  EXPECT_FALSE(response.has_total());
  EXPECT_TRUE(response.timed_out());
  ASSERT_TRUE(response.has_max_score());
  EXPECT_THAT(response.max_score(), DoubleEq(2.5));
  EXPECT_EQ(response.scroll_id(),
            "FGluY2x1ZGVfY29udGV4dF91dWlkDXF1ZXJ5QW5kRmV0Y2gBFkZ0b3JfdGVzdA==");
  ASSERT_THAT(response.hits(), SizeIs(1));
}

TEST(ParseSearchResponseTest, PitIdIsScrollId) {
  v1::SearchResponse response;
  ASSERT_THAT(
      ParseSearchResponse(R"({"pit_id":"46ToAwMDaWR5BXV1aWQy","hits":{"hits":[]}})", &response),
      IsOk());
  EXPECT_EQ(response.scroll_id(), "46ToAwMDaWR5BXV1aWQy");
}

TEST(ParseSearchResponseTest, OpenSearch2IgnoresUnknownFields) {
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(Fixture("opensearch2_search.json"), &response), IsOk());
  EXPECT_EQ(response.took_ms(), 8);
  ASSERT_THAT(response.hits(), SizeIs(1));
  EXPECT_EQ(response.hits(0).id(), "tt0111161");
  EXPECT_EQ(response.hits(0).source_json(), R"({
          "title" : "The Shawshank Redemption",
          "year" : 1994
        })");
}

TEST(ParseSearchResponseTest, ClearsPreviousOutput) {
  v1::SearchResponse response;
  response.add_hits()->set_id("stale");
  response.set_served_by("stale:9200");
  ASSERT_THAT(ParseSearchResponse(R"({"took":1})", &response), IsOk());
  EXPECT_THAT(response.hits(), SizeIs(0));
  EXPECT_EQ(response.served_by(), "");
}

TEST(ParseSearchResponseTest, PaddedViewReadsInPlace) {
  std::string body = Fixture("search_basic.json");
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(simdjson::padded_string_view(body), &response), IsOk());
  ASSERT_THAT(response.hits(), SizeIs(2));
  const simdjson::padded_string padded(body);
  ASSERT_THAT(ParseSearchResponse(padded, &response), IsOk());
  EXPECT_THAT(response.hits(), SizeIs(2));
}

TEST(ParseSearchResponseTest, InsufficientPaddingIsAnErrorNotARead) {
  const std::string body = R"({"took":1})";
  v1::SearchResponse response;
  EXPECT_THAT(ParseSearchResponse(
                  simdjson::padded_string_view(body.data(), body.size(), body.size()), &response),
              IsBadResponseAt(""));
}

// ---- Hostile and malformed bodies. ----

TEST(ParseSearchResponseTest, WrongTypeNamesThePath) {
  const std::string body =
      R"({"took":1,"hits":{"hits":[{"_id":"a"},{"_id":"b"},{"_id":"c"},{"_id":4}]}})";
  v1::SearchResponse response;
  const absl::Status status = ParseSearchResponse(body, &response);
  EXPECT_THAT(status, IsBadResponseAt("hits.hits[3]._id"));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal,
                               "elasticsearch response: hits.hits[3]._id: expected a string"));
}

TEST(ParseSearchResponseTest, WrongTypes) {
  v1::SearchResponse response;
  EXPECT_THAT(ParseSearchResponse(R"({"took":"5"})", &response), IsBadResponseAt("took"));
  EXPECT_THAT(ParseSearchResponse(R"({"took":1.5})", &response), IsBadResponseAt("took"));
  EXPECT_THAT(ParseSearchResponse(R"({"timed_out":"no"})", &response),
              IsBadResponseAt("timed_out"));
  EXPECT_THAT(ParseSearchResponse(R"({"_shards":[]})", &response), IsBadResponseAt("_shards"));
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"hits":{}}})", &response),
              IsBadResponseAt("hits.hits"));
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"hits":[7]}})", &response),
              IsBadResponseAt("hits.hits[0]"));
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"hits":[{"_score":"high"}]}})", &response),
              IsBadResponseAt("hits.hits[0]._score"));
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"total":{"value":"many"}}})", &response),
              IsBadResponseAt("hits.total.value"));
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"total":"many"}})", &response),
              IsBadResponseAt("hits.total"));
}

TEST(ParseSearchResponseTest, HugeNumbers) {
  v1::SearchResponse response;
  EXPECT_THAT(ParseSearchResponse(R"({"took":99999999999999999999999})", &response),
              IsBadResponseAt("took"));
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"total":{"value":1e30}}})", &response),
              IsBadResponseAt("hits.total.value"));
  EXPECT_THAT(ParseSearchResponse(R"({"_shards":{"total":3000000000}})", &response),
              IsBadResponseAt("_shards.total"));
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"max_score":1e400}})", &response),
              IsBadResponseAt("hits.max_score"));
  // Huge numbers inside free-form JSON are not ours to judge: passed through.
  ASSERT_THAT(
      ParseSearchResponse(
          R"({"hits":{"hits":[{"_source":{"n":1e400,"m":123456789012345678901234567890}}]}})",
          &response),
      IsOk());
  EXPECT_EQ(response.hits(0).source_json(), R"({"n":1e400,"m":123456789012345678901234567890})");
}

TEST(ParseSearchResponseTest, NotJson) {
  v1::SearchResponse response;
  EXPECT_THAT(ParseSearchResponse("", &response), IsBadResponseAt(""));
  EXPECT_THAT(ParseSearchResponse("<html><body>502 Bad Gateway</body></html>", &response),
              IsBadResponseAt(""));
  EXPECT_THAT(ParseSearchResponse("null", &response), IsBadResponseAt(""));
  EXPECT_THAT(ParseSearchResponse("[1,2]", &response), IsBadResponseAt(""));
  EXPECT_THAT(ParseSearchResponse("\"text\"", &response), IsBadResponseAt(""));
  EXPECT_THAT(ParseSearchResponse("{\"took\":\xff}", &response), IsBadResponseAt(""));
  EXPECT_THAT(ParseSearchResponse(R"({"took":1}{"took":2})", &response), IsBadResponseAt(""));
  EXPECT_THAT(ParseSearchResponse(R"({"took":1,})", &response), IsBadResponseAt(""));
}

TEST(ParseSearchResponseTest, EveryTruncationFails) {
  const std::string body = Fixture("search_basic.json");
  const size_t complete = body.find_last_of('}') + 1;
  v1::SearchResponse response;
  for (size_t length = 0; length < complete; ++length) {
    const absl::Status status =
        ParseSearchResponse(absl::string_view(body.data(), length), &response);
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << "prefix of " << length << " bytes";
    EXPECT_EQ(GetErrorInfo(status).reason, "BAD_ES_RESPONSE");
  }
  EXPECT_THAT(ParseSearchResponse(absl::string_view(body.data(), complete), &response), IsOk());
}

TEST(ParseSearchResponseTest, CorruptedBytesNeverCrash) {
  // Every position overwritten with each structural character: the parser must answer OK or
  // BAD_ES_RESPONSE, and never read out of bounds (run under the sanitizer build).
  const std::string body = Fixture("search_sorted.json");
  v1::SearchResponse response;
  for (size_t i = 0; i < body.size(); ++i) {
    for (char c : std::string("\"{}[]:,\\0\x01 ")) {
      std::string corrupted = body;
      corrupted[i] = c;
      const absl::Status status = ParseSearchResponse(corrupted, &response);
      if (!status.ok()) {
        ASSERT_EQ(status.code(), absl::StatusCode::kInternal) << i << " " << c;
        ASSERT_EQ(GetErrorInfo(status).reason, "BAD_ES_RESPONSE");
      }
    }
  }
}

TEST(ParseSearchResponseTest, DeeplyNestedSourcePassesThrough) {
  std::string source;
  for (int i = 0; i < 5000; ++i) source += R"({"a":[)";
  for (int i = 0; i < 5000; ++i) source += "]}";
  v1::SearchResponse response;
  ASSERT_THAT(ParseSearchResponse(
                  R"({"hits":{"hits":[{"_id":"deep","_source":)" + source + R"(,"_score":1}]}})",
                  &response),
              IsOk());
  ASSERT_THAT(response.hits(), SizeIs(1));
  EXPECT_EQ(response.hits(0).source_json(), source);
  EXPECT_TRUE(response.hits(0).has_score());
}

TEST(ParseSearchResponseTest, UnicodeEscapesInIdAreDecoded) {
  v1::SearchResponse response;
  ASSERT_THAT(
      ParseSearchResponse(
          R"({"hits":{"hits":[{"_id":"caf\u00e9-\ud83d\ude00-\"q\"-\\-\/","_index":"\u0069dx"}]}})",
          &response),
      IsOk());
  ASSERT_THAT(response.hits(), SizeIs(1));
  EXPECT_EQ(response.hits(0).id(), "caf\xC3\xA9-\xF0\x9F\x98\x80-\"q\"-\\-/");
  EXPECT_EQ(response.hits(0).index(), "idx");
}

TEST(ParseSearchResponseTest, LoneSurrogateInIdIsRejected) {
  v1::SearchResponse response;
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"hits":[{"_id":"\ud800"}]}})", &response),
              IsBadResponseAt("hits.hits[0]._id"));
}

TEST(ParseSearchResponseTest, ScalarAndNullRawValues) {
  v1::SearchResponse response;
  ASSERT_THAT(
      ParseSearchResponse(R"({"hits":{"hits":[{"_source":null,"sort":["x"] ,"fields":"odd"  }]}})",
                          &response),
      IsOk());
  EXPECT_EQ(response.hits(0).source_json(), "");
  EXPECT_EQ(response.hits(0).sort_json(), R"(["x"])");
  EXPECT_EQ(response.hits(0).fields_json(), R"("odd")");
}

TEST(ParseSearchResponseTest, RawValueWithMismatchedBracketsIsBad) {
  // simdjson skips a container by counting brackets of either kind, so these arrive whole.
  v1::SearchResponse response;
  EXPECT_THAT(ParseSearchResponse(R"({"hits":{"hits":[{"_source":{"a":1]}]}})", &response),
              IsBadResponseAt("hits.hits[0]._source"));
  EXPECT_THAT(ParseSearchResponse(R"({"aggregations":[1}})", &response),
              IsBadResponseAt("aggregations"));
}

// ---- Count and Get. ----

TEST(ParseCountResponseTest, Count) {
  v1::CountResponse response;
  ASSERT_THAT(ParseCountResponse(Fixture("count.json"), &response), IsOk());
  EXPECT_EQ(response.count(), 1234);
  EXPECT_EQ(response.shards().total(), 2);
  EXPECT_EQ(response.shards().successful(), 2);
}

TEST(ParseCountResponseTest, MissingCountIsBad) {
  v1::CountResponse response;
  EXPECT_THAT(ParseCountResponse(R"({"_shards":{"total":1}})", &response), IsBadResponseAt(""));
  EXPECT_THAT(ParseCountResponse(R"({"count":-})", &response), IsBadResponseAt("count"));
}

TEST(ParseGetResponseTest, Found) {
  const std::string body = Fixture("get_found.json");
  v1::GetResponse response;
  ASSERT_THAT(ParseGetResponse(body, &response), IsOk());
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.index(), "users");
  EXPECT_EQ(response.id(), "u-42");
  EXPECT_EQ(response.version(), 3);
  EXPECT_EQ(response.seq_no(), 10);
  EXPECT_EQ(response.primary_term(), 2);
  EXPECT_EQ(response.routing(), "eu");
  const std::string source = R"({
    "name" : "Zoë",
    "age" : 31,
    "langs" : [ "nl", "en" ]
  })";
  EXPECT_EQ(response.source_json(), source);
  EXPECT_THAT(body, HasSubstr(source));
}

TEST(ParseGetResponseTest, Missing) {
  v1::GetResponse response;
  ASSERT_THAT(ParseGetResponse(Fixture("get_missing.json"), &response), IsOk());
  EXPECT_FALSE(response.found());
  EXPECT_EQ(response.index(), "users");
  EXPECT_EQ(response.id(), "u-404");
  EXPECT_EQ(response.source_json(), "");
  EXPECT_EQ(response.version(), 0);
}

TEST(ParseGetResponseTest, ErrorBodyIsNotAGetResponse) {
  // A 404 for a missing index: the caller must read it with ParseEsError instead.
  v1::GetResponse response;
  EXPECT_THAT(
      ParseGetResponse(
          R"({"error":{"type":"index_not_found_exception","reason":"no such index [x]"},"status":404})",
          &response),
      IsBadResponseAt(""));
}

// ---- Multi-search. ----

TEST(ParseMultiSearchResponseTest, Mixed) {
  v1::MultiSearchResponse response;
  ASSERT_THAT(ParseMultiSearchResponse(Fixture("msearch_mixed.json"), &response), IsOk());
  EXPECT_EQ(response.took_ms(), 21);
  ASSERT_THAT(response.responses(), SizeIs(3));

  const v1::MultiSearchItem& ok = response.responses(0);
  EXPECT_EQ(ok.status(), 200);
  EXPECT_FALSE(ok.has_error());
  ASSERT_TRUE(ok.has_response());
  EXPECT_EQ(ok.response().took_ms(), 4);
  ASSERT_THAT(ok.response().hits(), SizeIs(1));
  EXPECT_EQ(ok.response().hits(0).id(), "p-7");
  EXPECT_EQ(ok.response().hits(0).source_json(), R"({"name": "lamp"})");

  const v1::MultiSearchItem& missing = response.responses(1);
  EXPECT_EQ(missing.status(), 404);
  EXPECT_FALSE(missing.has_response());
  EXPECT_EQ(missing.error().type(), "index_not_found_exception");
  EXPECT_EQ(missing.error().reason(), "no such index [nope]");
  EXPECT_EQ(missing.error().caused_by_type(), "");

  const v1::MultiSearchItem& bad = response.responses(2);
  EXPECT_EQ(bad.status(), 400);
  EXPECT_EQ(bad.error().type(), "search_phase_execution_exception");
  EXPECT_EQ(bad.error().caused_by_type(), "query_shard_exception");
  EXPECT_EQ(bad.error().caused_by_reason(),
            "failed to create query: field [price] is not a number");
}

TEST(ParseMultiSearchResponseTest, MissingStatusIsInferred) {
  v1::MultiSearchResponse response;
  ASSERT_THAT(
      ParseMultiSearchResponse(
          R"({"responses":[{"hits":{"hits":[]}},{"error":"SearchPhaseExecutionException[x]"}]})",
          &response),
      IsOk());
  ASSERT_THAT(response.responses(), SizeIs(2));
  EXPECT_EQ(response.responses(0).status(), 200);
  EXPECT_EQ(response.responses(1).status(), 500);
  EXPECT_EQ(response.responses(1).error().reason(), "SearchPhaseExecutionException[x]");
}

TEST(ParseMultiSearchResponseTest, BadItemNamesThePath) {
  v1::MultiSearchResponse response;
  EXPECT_THAT(
      ParseMultiSearchResponse(R"({"responses":[{"status":200},{"status":"ok"}]})", &response),
      IsBadResponseAt("responses[1].status"));
  EXPECT_THAT(
      ParseMultiSearchResponse(R"({"responses":[{"hits":{"hits":[{"_id":[]}]}}]})", &response),
      IsBadResponseAt("responses[0].hits.hits[0]._id"));
  EXPECT_THAT(ParseMultiSearchResponse(R"({"took":1})", &response), IsBadResponseAt(""));
}

// ---- Bulk. ----

TEST(ParseBulkResponseTest, Mixed) {
  std::vector<BulkItemOutcome> items;
  int64_t took_ms = 0;
  bool errors = false;
  ASSERT_THAT(ParseBulkResponse(Fixture("bulk_mixed.json"), &items, &took_ms, &errors), IsOk());
  EXPECT_EQ(took_ms, 30);
  EXPECT_TRUE(errors);
  ASSERT_THAT(items, SizeIs(6));

  EXPECT_EQ(items[0].op, "index");
  EXPECT_EQ(items[0].result.status(), 201);
  EXPECT_EQ(items[0].result.result(), "created");
  EXPECT_EQ(items[0].result.index(), "orders");
  EXPECT_EQ(items[0].result.id(), "o-1");
  EXPECT_EQ(items[0].result.version(), 1);
  EXPECT_EQ(items[0].result.seq_no(), 0);
  EXPECT_EQ(items[0].result.primary_term(), 1);
  EXPECT_FALSE(items[0].result.has_error());
  EXPECT_FALSE(items[0].backpressure);

  EXPECT_EQ(items[1].op, "update");
  EXPECT_EQ(items[1].result.status(), 200);
  EXPECT_EQ(items[1].result.result(), "updated");
  EXPECT_EQ(items[1].result.version(), 4);
  EXPECT_EQ(items[1].result.seq_no(), 7);

  EXPECT_EQ(items[2].op, "create");
  EXPECT_EQ(items[2].result.status(), 409);
  EXPECT_EQ(items[2].result.result(), "");
  EXPECT_EQ(items[2].result.error().type(), "version_conflict_engine_exception");
  EXPECT_THAT(items[2].result.error().reason(), HasSubstr("document already exists"));
  EXPECT_FALSE(items[2].backpressure);

  EXPECT_EQ(items[3].op, "index");
  EXPECT_EQ(items[3].result.status(), 429);
  EXPECT_EQ(items[3].result.id(), "o-4");
  EXPECT_EQ(items[3].result.error().type(), "es_rejected_execution_exception");
  EXPECT_TRUE(items[3].backpressure);

  EXPECT_EQ(items[4].op, "delete");
  EXPECT_EQ(items[4].result.status(), 404);
  EXPECT_EQ(items[4].result.result(), "not_found");
  EXPECT_FALSE(items[4].result.has_error());
  EXPECT_FALSE(items[4].backpressure);

  EXPECT_EQ(items[5].result.status(), 400);
  EXPECT_EQ(items[5].result.error().type(), "document_parsing_exception");
  EXPECT_EQ(items[5].result.error().caused_by_type(), "illegal_argument_exception");
  EXPECT_EQ(items[5].result.error().caused_by_reason(), "For input string: \"many\"");
  EXPECT_FALSE(items[5].backpressure);
}

TEST(ParseBulkResponseTest, RejectionWithoutStatus429IsBackpressure) {
  std::vector<BulkItemOutcome> items;
  ASSERT_THAT(
      ParseBulkResponse(
          R"({"took":1,"errors":true,"items":[{"index":{"_index":"a","_id":null,"status":503,)"
          R"("error":{"type":"es_rejected_execution_exception","reason":null}}}]})",
          &items, nullptr, nullptr),
      IsOk());
  ASSERT_THAT(items, SizeIs(1));
  EXPECT_TRUE(items[0].backpressure);
  EXPECT_EQ(items[0].result.id(), "");
  EXPECT_EQ(items[0].result.error().reason(), "");
}

TEST(ParseBulkResponseTest, MalformedItems) {
  std::vector<BulkItemOutcome> items;
  EXPECT_THAT(
      ParseBulkResponse(R"({"items":[{"index":{"status":201}},{}]})", &items, nullptr, nullptr),
      IsBadResponseAt("items[1]"));
  EXPECT_THAT(ParseBulkResponse(R"({"items":[{"index":{"status":201},"create":{}}]})", &items,
                                nullptr, nullptr),
              IsBadResponseAt("items[0]"));
  EXPECT_THAT(
      ParseBulkResponse(R"({"items":[{"index":{"_version":"one"}}]})", &items, nullptr, nullptr),
      IsBadResponseAt("items[0].index._version"));
  EXPECT_THAT(
      ParseBulkResponse(R"({"items":[{"delete":{"error":{"type":7}}}]})", &items, nullptr, nullptr),
      IsBadResponseAt("items[0].delete.error.type"));
  EXPECT_THAT(ParseBulkResponse(R"({"took":1,"errors":false})", &items, nullptr, nullptr),
              IsBadResponseAt(""));
}

TEST(ParseBulkResponseTest, EveryTruncationFails) {
  const std::string body = Fixture("bulk_mixed.json");
  const size_t complete = body.find_last_of('}') + 1;
  std::vector<BulkItemOutcome> items;
  for (size_t length = 0; length < complete; ++length) {
    EXPECT_EQ(
        ParseBulkResponse(absl::string_view(body.data(), length), &items, nullptr, nullptr).code(),
        absl::StatusCode::kInternal)
        << "prefix of " << length << " bytes";
  }
}

TEST(ParseClusterHealthTest, ReadsStatusAndCountsIgnoringOtherFields) {
  v1::ClusterHealth health;
  ASSERT_THAT(ParseClusterHealth(Fixture("cluster_health.json"), &health), IsOk());
  EXPECT_EQ(health.cluster_name(), "prod-logs");
  EXPECT_EQ(health.status(), "yellow");
  EXPECT_EQ(health.number_of_nodes(), 5);
  EXPECT_EQ(health.number_of_data_nodes(), 3);
  EXPECT_EQ(health.active_primary_shards(), 42);
  EXPECT_EQ(health.active_shards(), 80);
  EXPECT_EQ(health.relocating_shards(), 1);
  EXPECT_EQ(health.initializing_shards(), 2);
  EXPECT_EQ(health.unassigned_shards(), 4);
  EXPECT_FALSE(health.has_fetched_at());
  EXPECT_EQ(health.error(), "");
}

TEST(ParseClusterHealthTest, RefusesWhatElasticsearchDoesNotSend) {
  v1::ClusterHealth health;
  EXPECT_THAT(ParseClusterHealth(R"({"cluster_name":"x"})", &health), IsBadResponseAt(""));
  EXPECT_THAT(ParseClusterHealth(R"({"status":1})", &health), IsBadResponseAt("status"));
  EXPECT_THAT(ParseClusterHealth(R"({"status":"green","active_shards":4294967296})", &health),
              IsBadResponseAt("active_shards"));
  EXPECT_THAT(ParseClusterHealth("[]", &health).code(), absl::StatusCode::kInternal);
  const std::string body = Fixture("cluster_health.json");
  const size_t complete = body.find_last_of('}') + 1;
  for (size_t length = 0; length < complete; ++length) {
    EXPECT_EQ(ParseClusterHealth(absl::string_view(body.data(), length), &health).code(),
              absl::StatusCode::kInternal)
        << "prefix of " << length << " bytes";
  }
}

}  // namespace
}  // namespace esgw
