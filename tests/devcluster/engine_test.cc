// In-process tests of the dev cluster's Elasticsearch semantics: queries, sorting, paging,
// _source, aggregations, writes and versions, error shapes, routing. No sockets: requests go
// straight to EsApi::Handle.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "tests/devcluster/cluster_state.h"
#include "tests/devcluster/es_api.h"
#include "tests/devcluster/http_message.h"
#include "tests/devcluster/json.h"
#include "tests/devcluster/mapping.h"
#include "tests/devcluster/sample_data.h"

namespace esgw::devcluster {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : state_(1) {
    ClusterDescription cluster;
    cluster.name = "engine-test";
    cluster.uuid = "engine-test-uuid";
    NodeDescription node;
    node.id = "aaaaaaaaaaaaaaaaaaaa";
    node.name = "devnode-0";
    node.roles = {"data", "master"};
    node.bound_address = node.publish_address = "127.0.0.1:9200";
    cluster.nodes.push_back(node);
    api_ = std::make_unique<EsApi>(&state_, cluster, [](int) { return true; });
  }

  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "") {
    HttpRequest request;
    EXPECT_TRUE(
        ParseRequestHead(absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: x"), &request).ok());
    request.body = body;
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    return api_->Handle(0, request);
  }

  // The response body as JSON, asserting the status.
  Json CallJson(const std::string& method, const std::string& target, const std::string& body,
                int expected_status) {
    HttpResponse response = Call(method, target, body);
    EXPECT_EQ(response.status, expected_status) << method << " " << target << ": " << response.body;
    std::optional<Json> json = ParseJson(response.body);
    EXPECT_TRUE(json.has_value()) << response.body;
    return json.value_or(Json());
  }

  std::vector<std::string> SearchIds(const std::string& index, const std::string& body) {
    Json response = CallJson("POST", absl::StrCat("/", index, "/_search"), body, 200);
    std::vector<std::string> ids;
    for (const Json& hit : response["hits"]["hits"]) ids.push_back(hit["_id"].get<std::string>());
    return ids;
  }

  void Index(const std::string& index, const std::string& id, const std::string& source) {
    HttpResponse response = Call("PUT", absl::StrCat("/", index, "/_doc/", id), source);
    ASSERT_TRUE(response.status == 200 || response.status == 201) << response.body;
  }

  ClusterState state_;
  std::unique_ptr<EsApi> api_;
};

TEST_F(EngineTest, SourceIsReturnedAsTheIndexedBytes) {
  const std::string source = "{\"b\" : 1,   \"a\":[1, 2] ,\"c\":{\"x\":\"y\"}}";
  Index("raw", "1", source);
  HttpResponse search = Call("GET", "/raw/_search");
  EXPECT_THAT(search.body, HasSubstr(absl::StrCat("\"_source\":", source)));
  HttpResponse get = Call("GET", "/raw/_doc/1");
  EXPECT_THAT(get.body, HasSubstr(absl::StrCat("\"_source\":", source)));
}

TEST_F(EngineTest, TermMatchesKeywordExactlyAndTextTokens) {
  ASSERT_EQ(Call("PUT", "/kw", R"({"mappings":{"properties":{"tag":{"type":"keyword"}}}})").status,
            200);
  Index("kw", "1", R"({"tag":"Red Apple","title":"Red Apple"})");
  Index("kw", "2", R"({"tag":"red","title":"green pear"})");
  EXPECT_THAT(SearchIds("kw", R"({"query":{"term":{"tag":"Red Apple"}}})"), ElementsAre("1"));
  EXPECT_THAT(SearchIds("kw", R"({"query":{"term":{"tag":"red apple"}}})"), ElementsAre());
  // title is dynamic text: term sees lowercase tokens; title.keyword the whole value.
  EXPECT_THAT(SearchIds("kw", R"({"query":{"term":{"title":"red"}}})"), ElementsAre("1"));
  EXPECT_THAT(SearchIds("kw", R"({"query":{"term":{"title":"Red"}}})"), ElementsAre());
  EXPECT_THAT(SearchIds("kw", R"({"query":{"term":{"title.keyword":"Red Apple"}}})"),
              ElementsAre("1"));
  EXPECT_THAT(SearchIds("kw", R"({"query":{"terms":{"tag":["red","blue"]}}})"), ElementsAre("2"));
}

TEST_F(EngineTest, MatchScoresByMatchedTermsAndHonoursOperator) {
  Index("m", "1", R"({"t":"quick brown fox"})");
  Index("m", "2", R"({"t":"quick dog"})");
  Index("m", "3", R"({"t":"lazy cat"})");
  Json response = CallJson("POST", "/m/_search", R"({"query":{"match":{"t":"Quick FOX"}}})", 200);
  ASSERT_EQ(response["hits"]["hits"].size(), 2u);
  EXPECT_EQ(response["hits"]["hits"][0]["_id"], "1");
  EXPECT_EQ(response["hits"]["hits"][0]["_score"], 2.0);
  EXPECT_EQ(response["hits"]["max_score"], 2.0);
  EXPECT_EQ(response["hits"]["hits"][1]["_score"], 1.0);
  EXPECT_THAT(SearchIds("m", R"({"query":{"match":{"t":{"query":"quick fox","operator":"and"}}}})"),
              ElementsAre("1"));
  EXPECT_THAT(
      SearchIds("m",
                R"({"query":{"match":{"t":{"query":"quick fox cat","minimum_should_match":2}}}})"),
      ElementsAre("1"));
  EXPECT_THAT(SearchIds("m", R"({"query":{"match_phrase":{"t":"brown fox"}}})"), ElementsAre("1"));
  EXPECT_THAT(SearchIds("m", R"({"query":{"match_phrase":{"t":"fox brown"}}})"), ElementsAre());
}

TEST_F(EngineTest, BoolClausesAndShouldDefaults) {
  Index("b", "1", R"({"n":1,"c":"x"})");
  Index("b", "2", R"({"n":2,"c":"y"})");
  Index("b", "3", R"({"n":3,"c":"x"})");
  // should alone: at least one must match.
  EXPECT_THAT(SearchIds("b", R"({"query":{"bool":{"should":[{"term":{"n":1}},{"term":{"n":2}}]}},
                                 "sort":["n"]})"),
              ElementsAre("1", "2"));
  // with a filter, should becomes optional.
  EXPECT_THAT(SearchIds("b", R"({"query":{"bool":{"filter":{"term":{"c":"x"}},
                                 "should":[{"term":{"n":2}}]}},"sort":["n"]})"),
              ElementsAre("1", "3"));
  EXPECT_THAT(SearchIds("b", R"({"query":{"bool":{"must_not":[{"term":{"c":"x"}}]}}})"),
              ElementsAre("2"));
  Json filtered = CallJson("POST", "/b/_search",
                           R"({"query":{"bool":{"filter":[{"range":{"n":{"gte":2}}}]}}})", 200);
  EXPECT_EQ(filtered["hits"]["total"]["value"], 2);
  EXPECT_EQ(filtered["hits"]["hits"][0]["_score"], 0.0);
  EXPECT_THAT(SearchIds("b", R"({"query":{"ids":{"values":["3","9"]}}})"), ElementsAre("3"));
}

TEST_F(EngineTest, RangeOnNumbersDatesAndDateMath) {
  Index("r", "1", R"({"n":5,"d":"2024-01-10","s":"apple"})");
  Index("r", "2", R"({"n":10,"d":"2024-02-10T12:00:00Z","s":"banana"})");
  Index("r", "3", R"({"n":15.5,"d":"2099-01-01","s":"cherry"})");
  EXPECT_THAT(SearchIds("r", R"({"query":{"range":{"n":{"gt":5,"lte":10}}}})"), ElementsAre("2"));
  EXPECT_THAT(SearchIds("r", R"({"query":{"range":{"d":{"gte":"2024-02-01","lt":"now"}}}})"),
              ElementsAre("2"));
  EXPECT_THAT(SearchIds("r", R"({"query":{"range":{"d":{"gt":"now-1d/d"}}}})"), ElementsAre("3"));
  EXPECT_THAT(SearchIds("r", R"({"query":{"range":{"s":{"gte":"b","lt":"c"}}}})"),
              ElementsAre("2"));
  EXPECT_THAT(SearchIds("r", R"({"query":{"exists":{"field":"n"}}, "sort":[{"n":"desc"}]})"),
              ElementsAre("3", "2", "1"));
}

TEST_F(EngineTest, SortingPagingAndTotals) {
  for (int i = 1; i <= 12; ++i) {
    Index("p", absl::StrCat(i), absl::StrCat(R"({"n":)", i % 4, R"(,"k":"k)", 20 - i, R"("})"));
  }
  Index("p", "nokey", R"({"k":"zz"})");
  Json sorted =
      CallJson("POST", "/p/_search",
               R"({"sort":[{"n":{"order":"desc"}},{"k.keyword":"asc"}],"size":3,"from":1})", 200);
  EXPECT_TRUE(sorted["hits"]["max_score"].is_null());
  ASSERT_EQ(sorted["hits"]["hits"].size(), 3u);
  EXPECT_TRUE(sorted["hits"]["hits"][0]["_score"].is_null());
  EXPECT_EQ(sorted["hits"]["hits"][0]["sort"], Json::parse(R"([3,"k17"])"));
  // Missing values sort last in both directions.
  std::vector<std::string> asc = SearchIds("p", R"({"sort":["n"],"size":20})");
  EXPECT_EQ(asc.back(), "nokey");
  Json missing = CallJson("POST", "/p/_search", R"({"sort":[{"n":"desc"}],"size":20})", 200);
  EXPECT_EQ(missing["hits"]["hits"][12]["_id"], "nokey");
  EXPECT_EQ(missing["hits"]["hits"][12]["sort"][0], std::numeric_limits<int64_t>::min());

  Json total = CallJson("POST", "/p/_search", R"({"track_total_hits":5,"size":0})", 200);
  EXPECT_EQ(total["hits"]["total"], Json::parse(R"({"value":5,"relation":"gte"})"));
  Json untracked = CallJson("POST", "/p/_search", R"({"track_total_hits":false})", 200);
  EXPECT_FALSE(untracked["hits"].contains("total"));
  Json as_int = CallJson("GET", "/p/_search?rest_total_hits_as_int=true&size=1", "", 200);
  EXPECT_EQ(as_int["hits"]["total"], 13);
  Json by_param = CallJson("GET", "/p/_search?sort=k.keyword:desc&size=2&from=0", "", 200);
  EXPECT_EQ(by_param["hits"]["hits"][0]["_id"], "nokey");

  // search_after continues after the last sort values.
  Json page = CallJson("POST", "/p/_search",
                       R"({"sort":["k.keyword"],"size":2,"search_after":["k17"]})", 200);
  EXPECT_EQ(page["hits"]["hits"][0]["sort"][0], "k18");
}

TEST_F(EngineTest, SourceFiltering) {
  Index("s", "1", R"({"a":1,"b":{"c":2,"d":3},"e":[{"f":4,"g":5}]})");
  Json none = CallJson("POST", "/s/_search", R"({"_source":false})", 200);
  EXPECT_FALSE(none["hits"]["hits"][0].contains("_source"));
  Json some = CallJson("POST", "/s/_search", R"({"_source":["b.c","e.*"]})", 200);
  EXPECT_EQ(some["hits"]["hits"][0]["_source"],
            Json::parse(R"({"b":{"c":2},"e":[{"f":4,"g":5}]})"));
  Json excluded = CallJson("POST", "/s/_search", R"({"_source":{"excludes":["b"]}})", 200);
  EXPECT_EQ(excluded["hits"]["hits"][0]["_source"], Json::parse(R"({"a":1,"e":[{"f":4,"g":5}]})"));
  Json get = CallJson("GET", "/s/_doc/1?_source_includes=a", "", 200);
  EXPECT_EQ(get["_source"], Json::parse(R"({"a":1})"));
}

TEST_F(EngineTest, Aggregations) {
  ASSERT_TRUE(LoadSampleData(state_).ok());
  Json response = CallJson("POST", "/products/_search?typed_keys=false", R"({
      "size":0,
      "aggs":{"cats":{"terms":{"field":"category","size":2},
                      "aggs":{"cheapest":{"min":{"field":"price"}}}},
              "total_stock":{"sum":{"field":"stock"}},
              "n":{"value_count":{"field":"price"}},
              "avg_rating":{"avg":{"field":"rating"}},
              "newest":{"max":{"field":"released"}}}})",
                           200);
  const Json& aggs = response["aggregations"];
  const Json& cats = aggs["cats"];
  ASSERT_EQ(cats["buckets"].size(), 2u);
  int64_t shown = cats["buckets"][0]["doc_count"].get<int64_t>() +
                  cats["buckets"][1]["doc_count"].get<int64_t>();
  EXPECT_EQ(shown + cats["sum_other_doc_count"].get<int64_t>(), kSampleProductCount);
  EXPECT_GE(cats["buckets"][0]["doc_count"], cats["buckets"][1]["doc_count"]);
  EXPECT_TRUE(cats["buckets"][0]["cheapest"]["value"].is_number());
  EXPECT_EQ(aggs["n"]["value"], kSampleProductCount);
  EXPECT_TRUE(aggs["total_stock"]["value"].is_number());
  EXPECT_TRUE(aggs["newest"].contains("value_as_string"));

  Json typed = CallJson("POST", "/products/_search?typed_keys",
                        R"({"size":0,"aggs":{"c":{"terms":{"field":"category"}}}})", 200);
  EXPECT_TRUE(typed["aggregations"].contains("sterms#c"));

  // Text fields cannot be aggregated, as in Elasticsearch.
  Json error =
      CallJson("POST", "/products/_search", R"({"aggs":{"x":{"terms":{"field":"name"}}}})", 400);
  EXPECT_EQ(error["error"]["type"], "search_phase_execution_exception");
  EXPECT_EQ(error["error"]["root_cause"][0]["type"], "illegal_argument_exception");
}

TEST_F(EngineTest, VersionsSeqNosAndConditionalWrites) {
  Json first = CallJson("PUT", "/v/_doc/a%2Fb", R"({"x":1})", 201);
  EXPECT_EQ(first["_id"], "a/b");
  EXPECT_EQ(first["_version"], 1);
  EXPECT_EQ(first["result"], "created");
  Json second = CallJson("PUT", "/v/_doc/a%2Fb", R"({"x":2})", 200);
  EXPECT_EQ(second["_version"], 2);
  EXPECT_EQ(second["result"], "updated");
  int64_t seq = second["_seq_no"].get<int64_t>();
  Json conflict =
      CallJson("PUT", absl::StrCat("/v/_doc/a%2Fb?if_seq_no=", seq - 1, "&if_primary_term=1"),
               R"({"x":3})", 409);
  EXPECT_EQ(conflict["error"]["reason"],
            absl::StrCat("[a/b]: version conflict, required seqNo [", seq - 1,
                         "], primary term [1]. current document has seqNo [", seq,
                         "] and primary term [1]"));
  CallJson("PUT", absl::StrCat("/v/_doc/a%2Fb?if_seq_no=", seq, "&if_primary_term=1"), R"({"x":3})",
           200);
  Json create = CallJson("PUT", "/v/_create/a%2Fb", R"({"x":4})", 409);
  EXPECT_EQ(create["error"]["reason"],
            "[a/b]: version conflict, document already exists (current version [3])");
  Json deleted = CallJson("DELETE", "/v/_doc/a%2Fb", "", 200);
  EXPECT_EQ(deleted["result"], "deleted");
  EXPECT_EQ(deleted["_version"], 4);
  Json again = CallJson("DELETE", "/v/_doc/a%2Fb", "", 404);
  EXPECT_EQ(again["result"], "not_found");
  Json recreated = CallJson("PUT", "/v/_doc/a%2Fb", R"({"x":5})", 201);
  EXPECT_EQ(recreated["_version"], 6);  // tombstones keep counting, as in ES

  Json generated = CallJson("POST", "/v/_doc", R"({"x":6})", 201);
  EXPECT_EQ(generated["_id"].get<std::string>().size(), 20u);
  HttpResponse with_location = Call("POST", "/v/_doc", R"({"x":7})");
  EXPECT_NE(FindHeader(with_location.headers, "Location"), nullptr);
}

TEST_F(EngineTest, BulkItemsAndFailures) {
  std::string body =
      "{\"index\":{\"_index\":\"bk\",\"_id\":\"1\"}}\n{\"n\":1}\n"
      "{\"create\":{\"_index\":\"bk\",\"_id\":\"1\"}}\n{\"n\":2}\n"
      "{\"update\":{\"_index\":\"bk\",\"_id\":\"1\"}}\n{\"doc\":{\"m\":{\"k\":1}}}\n"
      "{\"update\":{\"_index\":\"bk\",\"_id\":\"1\"}}\n{\"doc\":{\"m\":{\"k\":1}}}\n"
      "{\"update\":{\"_index\":\"bk\",\"_id\":\"2\"}}\n{\"doc\":{\"n\":1}}\n"
      "{\"update\":{\"_index\":\"bk\",\"_id\":\"3\"}}\n{\"doc\":{\"n\":3},\"doc_as_upsert\":true}\n"
      "{\"delete\":{\"_index\":\"bk\",\"_id\":\"4\"}}\n"
      "{\"delete\":{\"_index\":\"nosuch\",\"_id\":\"4\"}}\n"
      "{\"index\":{\"_index\":\"Bad\"}}\n{}\n"
      "{\"index\":{}}\n{\"n\":\"not a number\"}\n";
  Json response = CallJson("POST", "/bk/_bulk?refresh=true", body, 200);
  EXPECT_EQ(response["errors"], true);
  const Json& items = response["items"];
  ASSERT_EQ(items.size(), 10u);
  EXPECT_EQ(items[0]["index"]["status"], 201);
  EXPECT_EQ(items[0]["index"]["forced_refresh"], true);
  EXPECT_EQ(items[1]["create"]["status"], 409);
  EXPECT_EQ(items[1]["create"]["error"]["type"], "version_conflict_engine_exception");
  EXPECT_EQ(items[2]["update"]["result"], "updated");
  EXPECT_EQ(items[3]["update"]["result"], "noop");
  EXPECT_EQ(items[4]["update"]["status"], 404);
  EXPECT_EQ(items[4]["update"]["error"]["type"], "document_missing_exception");
  EXPECT_EQ(items[4]["update"]["error"]["reason"], "[2]: document missing");
  EXPECT_EQ(items[5]["update"]["result"], "created");
  EXPECT_EQ(items[6]["delete"]["result"], "not_found");
  EXPECT_EQ(items[6]["delete"]["status"], 404);
  EXPECT_EQ(items[7]["delete"]["error"]["type"], "index_not_found_exception");
  EXPECT_EQ(items[8]["index"]["error"]["type"], "invalid_index_name_exception");
  EXPECT_EQ(items[9]["index"]["status"], 400);
  EXPECT_EQ(items[9]["index"]["error"]["type"], "document_parsing_exception");
  Json doc = CallJson("GET", "/bk/_doc/1", "", 200);
  EXPECT_EQ(doc["_source"], Json::parse(R"({"n":1,"m":{"k":1}})"));
  EXPECT_EQ(doc["_version"], 2);
}

TEST_F(EngineTest, BulkRequestLevelErrors) {
  Json newline = CallJson("POST", "/_bulk", "{\"index\":{\"_index\":\"x\"}}\n{}", 400);
  EXPECT_EQ(newline["error"]["reason"], "The bulk request must be terminated by a newline [\\n]");
  Json action = CallJson("POST", "/_bulk", "{\"upsert\":{\"_index\":\"x\"}}\n{}\n", 400);
  EXPECT_EQ(action["error"]["type"], "illegal_argument_exception");
  EXPECT_THAT(action["error"]["reason"].get<std::string>(),
              HasSubstr("Malformed action/metadata line [1]"));
  Json no_index = CallJson("POST", "/_bulk", "{\"index\":{}}\n{}\n", 400);
  EXPECT_EQ(no_index["error"]["reason"], "Validation Failed: 1: index is missing;");
  Json broken = CallJson("POST", "/_bulk", "{\"index\":\n", 400);
  EXPECT_EQ(broken["error"]["type"], "x_content_parse_exception");
}

TEST_F(EngineTest, BulkRejectionIsCountedAcrossRequestsAndNotApplied) {
  state_.SetBulkRejectEvery(2);
  std::string body;
  for (int i = 0; i < 3; ++i) {
    absl::StrAppend(&body, "{\"index\":{\"_index\":\"rj\",\"_id\":\"", i, "\"}}\n{}\n");
  }
  Json first = CallJson("POST", "/_bulk", body, 200);
  EXPECT_EQ(first["items"][1]["index"]["status"], 429);
  EXPECT_EQ(first["items"][1]["index"]["error"]["type"], "es_rejected_execution_exception");
  Json second =
      CallJson("POST", "/_bulk", "{\"index\":{\"_index\":\"rj\",\"_id\":\"9\"}}\n{}\n", 200);
  EXPECT_EQ(second["items"][0]["index"]["status"], 429);  // 4th item overall
  absl::StatusOr<Json> docs = state_.DescribeDocs("rj");
  ASSERT_TRUE(docs.ok());
  EXPECT_EQ((*docs)["count"], 2);
  EXPECT_EQ(state_.bulk_items_rejected(), 2);
}

TEST_F(EngineTest, QueryErrors) {
  Index("q", "1", "{}");
  Json unknown = CallJson("POST", "/q/_search", "{\n  \"query\": {\"nope\": {}}}", 400);
  EXPECT_EQ(unknown["error"]["root_cause"][0]["type"], "parsing_exception");
  EXPECT_EQ(unknown["error"]["root_cause"][0]["reason"], "unknown query [nope]");
  EXPECT_EQ(unknown["error"]["root_cause"][0]["line"], 2);
  Json malformed = CallJson("POST", "/q/_search", "{\"query\":{", 400);
  EXPECT_EQ(malformed["error"]["type"], "x_content_parse_exception");
  Json key = CallJson("POST", "/q/_search", R"({"quer":{}})", 400);
  EXPECT_EQ(key["error"]["reason"], "Unknown key for a START_OBJECT in [quer].");
  Json bad_bool = CallJson("POST", "/q/_search", R"({"query":{"bool":{"mist":[]}}})", 400);
  EXPECT_EQ(bad_bool["error"]["reason"], "[bool] query does not support [mist]");
  Json negative = CallJson("GET", "/q/_search?size=-1", "", 400);
  EXPECT_EQ(negative["error"]["type"], "illegal_argument_exception");
  Json sort_text = CallJson("POST", "/q/_search", R"({"sort":["zzz"]})", 400);
  EXPECT_EQ(sort_text["error"]["root_cause"][0]["type"], "query_shard_exception");
}

TEST_F(EngineTest, IndexResolutionAndAdmin) {
  Index("logs-a", "1", R"({"n":1})");
  Index("logs-b", "1", R"({"n":2})");
  Index(".hidden", "1", R"({"n":3})");
  Json all = CallJson("GET", "/_search", "", 200);
  EXPECT_EQ(all["hits"]["total"]["value"], 2);
  EXPECT_EQ(all["_shards"]["total"], 2);
  Json pattern = CallJson("GET", "/logs-*,-logs-b/_count", "", 200);
  EXPECT_EQ(pattern["count"], 1);
  Json missing = CallJson("GET", "/logs-a,nope/_search", "", 404);
  EXPECT_EQ(missing["error"]["index"], "nope");
  Json ignored = CallJson("GET", "/logs-a,nope/_search?ignore_unavailable=true", "", 200);
  EXPECT_EQ(ignored["hits"]["total"]["value"], 1);
  Json empty_pattern = CallJson("GET", "/zzz*/_search", "", 200);
  EXPECT_EQ(empty_pattern["hits"]["total"]["value"], 0);

  EXPECT_EQ(Call("HEAD", "/logs-a").status, 200);
  EXPECT_EQ(Call("HEAD", "/nope").status, 404);
  Json exists = CallJson("PUT", "/logs-a", "", 400);
  EXPECT_EQ(exists["error"]["type"], "resource_already_exists_exception");
  Json upper = CallJson("PUT", "/Logs", "", 400);
  EXPECT_EQ(upper["error"]["reason"], "Invalid index name [Logs], must be lowercase");
  Json described = CallJson("GET", "/logs-a", "", 200);
  EXPECT_EQ(described["logs-a"]["mappings"]["properties"]["n"]["type"], "long");
  EXPECT_EQ(CallJson("DELETE", "/logs-a", "", 200)["acknowledged"], true);
  EXPECT_EQ(Call("HEAD", "/logs-a").status, 404);
  EXPECT_EQ(CallJson("DELETE", "/logs-a", "", 404)["error"]["type"], "index_not_found_exception");
}

TEST_F(EngineTest, RoutingErrorsAndResponseParameters) {
  Json no_handler = CallJson("GET", "/a/b/c/d?x=1", "", 400);
  EXPECT_EQ(no_handler["error"], "no handler found for uri [/a/b/c/d?x=1] and method [GET]");
  HttpResponse wrong_method = Call("DELETE", "/_cluster/health");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_THAT(wrong_method.body, HasSubstr("Incorrect HTTP method for uri [/_cluster/health] and "
                                           "method [DELETE], allowed: [GET]"));
  EXPECT_NE(FindHeader(wrong_method.headers, "Allow"), nullptr);

  HttpResponse filtered = Call("GET", "/_nodes/http?filter_path=nodes.*.http.publish_address");
  EXPECT_EQ(filtered.body,
            R"({"nodes":{"aaaaaaaaaaaaaaaaaaaa":{"http":{"publish_address":"127.0.0.1:9200"}}}})");
  HttpResponse pretty = Call("GET", "/?pretty");
  EXPECT_THAT(pretty.body, HasSubstr("\n  \"tagline\": \"You Know, for Search\""));
  for (const HttpResponse& response : {filtered, pretty, wrong_method}) {
    const std::string* product = FindHeader(response.headers, "X-elastic-product");
    ASSERT_NE(product, nullptr);
    EXPECT_EQ(*product, "Elasticsearch");
  }
}

TEST_F(EngineTest, MultiSearch) {
  Index("ms", "1", R"({"n":1})");
  Json response = CallJson("POST", "/ms/_msearch",
                           "{}\n{\"query\":{\"match_all\":{}}}\n{\"index\":\"nope\"}\n{}\n", 200);
  ASSERT_EQ(response["responses"].size(), 2u);
  EXPECT_EQ(response["responses"][0]["status"], 200);
  EXPECT_EQ(response["responses"][0]["hits"]["total"]["value"], 1);
  EXPECT_EQ(response["responses"][1]["status"], 404);
  EXPECT_EQ(response["responses"][1]["error"]["type"], "index_not_found_exception");
  // A malformed body fails the whole request, as in Elasticsearch.
  Json malformed = CallJson("POST", "/ms/_msearch", "{}\n{\"qu\":1}\n", 400);
  EXPECT_EQ(malformed["error"]["type"], "parsing_exception");
}

TEST_F(EngineTest, ContentTypeRules) {
  HttpRequest request;
  ASSERT_TRUE(ParseRequestHead("POST /_search HTTP/1.1\r\nContent-Type: "
                               "application/x-www-form-urlencoded",
                               &request)
                  .ok());
  request.body = "{}";
  HttpResponse refused = api_->Handle(0, request);
  EXPECT_EQ(refused.status, 406);
  EXPECT_EQ(refused.body,
            R"({"error":"Content-Type header [application/x-www-form-urlencoded] is not )"
            R"(supported","status":406})");
  request.headers.clear();
  EXPECT_EQ(api_->Handle(0, request).body,
            R"({"error":"Content-Type header is missing","status":406})");
  request.headers = {{"Content-Type", "application/vnd.elasticsearch+json; compatible-with=8"},
                     {"Accept", "application/vnd.elasticsearch+json; compatible-with=8"}};
  HttpResponse compatible = api_->Handle(0, request);
  EXPECT_EQ(compatible.status, 200);
  EXPECT_EQ(*FindHeader(compatible.headers, "content-type"),
            "application/vnd.elasticsearch+json;compatible-with=8");
}

TEST(DateParsingTest, AcceptsIsoFormsAndEpochMillis) {
  EXPECT_EQ(ParseDateMillis("1970-01-01"), 0);
  EXPECT_EQ(ParseDateMillis("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseDateMillis("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseDateMillis("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseDateMillis("1970/01/02"), 86400000);
  EXPECT_EQ(ParseDateMillis("1714550400000"), 1714550400000);
  EXPECT_FALSE(ParseDateMillis("2024-02-30").has_value());
  EXPECT_FALSE(ParseDateMillis("hello").has_value());
  EXPECT_EQ(FormatDateMillis(1500), "1970-01-01T00:00:01.500Z");
}

TEST(HttpMessageTest, ChunkedGzipAndUrlDecoding) {
  std::string body;
  absl::StatusOr<std::size_t> consumed =
      DecodeChunked("4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\nX", &body);
  ASSERT_TRUE(consumed.ok());
  EXPECT_EQ(*consumed, 24u);
  EXPECT_EQ(body, "Wikipedia");
  EXPECT_EQ(*DecodeChunked("4\r\nWi", &body), 0u);
  EXPECT_FALSE(DecodeChunked("zz\r\n", &body).ok());
  absl::StatusOr<std::string> round_trip = GzipDecompress(GzipCompress("hello hello hello"));
  ASSERT_TRUE(round_trip.ok());
  EXPECT_EQ(*round_trip, "hello hello hello");
  EXPECT_EQ(UrlDecode("a%2Fb+c%zz", false), "a/b+c%zz");
  EXPECT_EQ(UrlDecode("a%2Fb+c", true), "a/b c");
  EXPECT_EQ(Base64UrlEncode(std::string(15, '\xff')).size(), 20u);
}

}  // namespace
}  // namespace esgw::devcluster
