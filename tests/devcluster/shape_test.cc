// Response shapes of the dev cluster checked against fixtures written from Elasticsearch 8's
// documented responses (tests/devcluster/fixtures, format in README.md): keys, nesting and JSON
// types must agree; values that vary (took, ids, uuids, scores) are ignored. With
// ESGW_TEST_ES_URL=http://host:port the same checks run against a real cluster, where extra
// keys that newer versions add are tolerated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/devcluster/http_message.h"
#include "tests/devcluster/json.h"
#include "tests/support/dev_cluster.h"

namespace esgw::devcluster {
namespace {

using ::esgw::testing::DevCluster;
using ::esgw::testing::ExternalEsAddress;
using ::esgw::testing::ExternalEsUrl;
using ::testing::HasSubstr;

std::string TypeName(const Json& value) {
  if (value.is_object()) return "object";
  if (value.is_array()) return "array";
  if (value.is_string()) return "string";
  if (value.is_number()) return "number";
  if (value.is_boolean()) return "boolean";
  return "null";
}

// Structural comparison; see README.md ("Fixtures") for the rules.
void CompareShape(const Json& fixture, const Json& actual, const std::string& path,
                  bool allow_extra_keys, std::vector<std::string>* problems) {
  if (fixture.is_string() && fixture == "<any>") return;
  if (TypeName(fixture) != TypeName(actual)) {
    problems->push_back(absl::StrCat(path, ": expected ", TypeName(fixture), ", got ",
                                     TypeName(actual), " ", Dump(actual)));
    return;
  }
  if (fixture.is_object()) {
    const Json* any_key = Find(fixture, "*");
    for (const auto& [key, value] : fixture.items()) {
      if (key == "*") continue;
      if (!actual.contains(key)) {
        problems->push_back(absl::StrCat(path, ".", key, ": missing"));
        continue;
      }
      CompareShape(value, actual[key], absl::StrCat(path, ".", key), allow_extra_keys, problems);
    }
    for (const auto& [key, value] : actual.items()) {
      if (fixture.contains(key)) continue;
      if (any_key != nullptr) {
        CompareShape(*any_key, value, absl::StrCat(path, ".", key), allow_extra_keys, problems);
      } else if (!allow_extra_keys) {
        problems->push_back(absl::StrCat(path, ".", key, ": not in the fixture"));
      }
    }
    return;
  }
  if (fixture.is_array()) {
    if (fixture.empty()) {
      if (!actual.empty()) problems->push_back(absl::StrCat(path, ": expected an empty array"));
      return;
    }
    if (fixture.size() == actual.size()) {
      for (std::size_t i = 0; i < actual.size(); ++i) {
        CompareShape(fixture[i], actual[i], absl::StrCat(path, "[", i, "]"), allow_extra_keys,
                     problems);
      }
    } else if (fixture.size() == 1) {
      for (std::size_t i = 0; i < actual.size(); ++i) {
        CompareShape(fixture[0], actual[i], absl::StrCat(path, "[", i, "]"), allow_extra_keys,
                     problems);
      }
    } else {
      problems->push_back(
          absl::StrCat(path, ": expected ", fixture.size(), " elements, got ", actual.size()));
    }
  }
}

Json LoadFixture(const std::string& name) {
  std::ifstream in(absl::StrCat(ESGW_DEVCLUSTER_FIXTURES, "/", name));
  std::stringstream text;
  text << in.rdbuf();
  std::optional<Json> json = ParseJson(text.str());
  EXPECT_TRUE(json.has_value()) << "fixture " << name << " is missing or not JSON";
  return json.value_or(Json());
}

class ShapeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prefix_ = absl::StrCat("esgw-shape-", getpid());
    if (!ExternalEsUrl().empty()) {
      external_ = true;
      absl::StatusOr<std::string> address = ExternalEsAddress();
      if (!address.ok()) {
        setup_error_ = std::string(address.status().message());
        return;
      }
      address_ = *address;
      return;
    }
    DevCluster::Options options;
    options.nodes = 2;
    absl::StatusOr<std::unique_ptr<DevCluster>> cluster = DevCluster::Start(options);
    if (!cluster.ok()) {
      setup_error_ = cluster.status().ToString();
      return;
    }
    cluster_ = std::move(*cluster);
    address_ = cluster_->node_addresses()[0];
  }

  static void TearDownTestSuite() {
    if (external_ && !address_.empty()) {
      (void)HttpRequestOnce(address_, "DELETE", absl::StrCat("/", prefix_, "-*"));
    }
    cluster_.reset();
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static std::string Index(absl::string_view name) { return absl::StrCat(prefix_, "-", name); }

  BlockingHttpClient::Response Call(const std::string& method, const std::string& path,
                                    const std::string& body = "",
                                    const std::string& content_type = "application/json",
                                    HeaderList headers = {}) {
    if (!body.empty()) headers.emplace_back("Content-Type", content_type);
    absl::StatusOr<BlockingHttpClient::Response> response =
        HttpRequestOnce(address_, method, path, body, headers);
    EXPECT_TRUE(response.ok()) << method << " " << path << ": " << response.status();
    if (!response.ok()) return BlockingHttpClient::Response();
    return *response;
  }

  // Checks status, ES headers and the body's shape against `fixture`; returns the parsed body.
  Json ExpectShape(const BlockingHttpClient::Response& response, int status,
                   const std::string& fixture) {
    EXPECT_EQ(response.status, status) << response.body;
    const std::string* product = response.Header("X-elastic-product");
    EXPECT_TRUE(product != nullptr && *product == "Elasticsearch");
    const std::string* type = response.Header("content-type");
    EXPECT_TRUE(type != nullptr && absl::StartsWith(*type, "application/json"));
    std::optional<Json> actual = ParseJson(response.body);
    EXPECT_TRUE(actual.has_value()) << response.body;
    if (!actual.has_value()) return Json();
    std::vector<std::string> problems;
    CompareShape(LoadFixture(fixture), *actual, "$", external_, &problems);
    EXPECT_TRUE(problems.empty()) << fixture << " mismatches:\n  "
                                  << absl::StrJoin(problems, "\n  ") << "\nbody: " << response.body;
    return *actual;
  }

  void CreateColors(const std::string& index) {
    Call("PUT", absl::StrCat("/", index),
         R"({"mappings":{"properties":{"color":{"type":"keyword"},"size":{"type":"integer"}}}})");
    std::string bulk;
    const char* colors[] = {"red", "red", "blue"};
    for (int i = 0; i < 3; ++i) {
      absl::StrAppend(&bulk, "{\"index\":{\"_id\":\"", i + 1, "\"}}\n{\"color\":\"", colors[i],
                      "\",\"size\":", (i + 1) * 10, ",\"title\":\"shirt number ", i + 1, "\"}\n");
    }
    auto response =
        Call("POST", absl::StrCat("/", index, "/_bulk?refresh=true"), bulk, "application/x-ndjson");
    ASSERT_EQ(response.status, 200) << response.body;
  }

  static inline std::unique_ptr<DevCluster> cluster_;
  static inline std::string address_;
  static inline std::string prefix_;
  static inline std::string setup_error_;
  static inline bool external_ = false;
};

TEST_F(ShapeTest, Root) {
  auto get = Call("GET", "/");
  Json body = ExpectShape(get, 200, "root.json");
  EXPECT_EQ(body["tagline"], "You Know, for Search");
  EXPECT_TRUE(absl::StartsWith(body["version"]["number"].get<std::string>(), "8."));
  auto head = Call("HEAD", "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  ASSERT_NE(head.Header("content-length"), nullptr);
  EXPECT_EQ(*head.Header("content-length"), std::to_string(get.body.size()));
}

TEST_F(ShapeTest, NodesHttp) {
  Json body = ExpectShape(Call("GET", "/_nodes/http"), 200, "nodes_http.json");
  ExpectShape(Call("GET", "/_nodes/_all/http"), 200, "nodes_http.json");
  if (external_) return;
  EXPECT_EQ(body["_nodes"]["total"], 2);
  std::vector<std::string> published;
  for (const auto& [id, node] : body["nodes"].items()) {
    EXPECT_EQ(id.size(), 20u);
    published.push_back(node["http"]["publish_address"].get<std::string>());
    EXPECT_THAT(node["roles"].get<std::vector<std::string>>(),
                ::testing::ElementsAre("data", "data_cold", "data_content", "data_frozen",
                                       "data_hot", "data_warm", "ingest", "master", "ml",
                                       "remote_cluster_client", "transform"));
  }
  EXPECT_THAT(published, ::testing::UnorderedElementsAreArray(cluster_->node_addresses()));
}

TEST_F(ShapeTest, ClusterHealth) {
  Json body = ExpectShape(Call("GET", "/_cluster/health"), 200, "cluster_health.json");
  if (!external_) {
    EXPECT_EQ(body["status"], "green");
  }
}

TEST_F(ShapeTest, IndexAdminAndDocuments) {
  const std::string index = Index("docs");
  ExpectShape(Call("PUT", absl::StrCat("/", index)), 200, "create_index.json");
  ExpectShape(Call("PUT", absl::StrCat("/", index)), 400, "error_already_exists.json");
  auto created = Call("PUT", absl::StrCat("/", index, "/_doc/1"), R"({"title":"hello","n":1})");
  ExpectShape(created, 201, "index_doc.json");
  auto found = Call("GET", absl::StrCat("/", index, "/_doc/1"));
  Json body = ExpectShape(found, 200, "get_found.json");
  EXPECT_EQ(body["_source"], Json::parse(R"({"title":"hello","n":1})"));
  ExpectShape(Call("GET", absl::StrCat("/", index, "/_doc/404")), 404, "get_missing.json");
  ExpectShape(Call("GET", absl::StrCat("/", Index("missing"), "/_doc/1")), 404,
              "error_index_not_found.json");
}

TEST_F(ShapeTest, SearchHitsSortAndAggregations) {
  const std::string index = Index("colors");
  CreateColors(index);
  const std::string search = absl::StrCat("/", index, "/_search");
  Json hits = ExpectShape(Call("POST", search, R"({"query":{"match":{"title":"shirt"}}})"), 200,
                          "search_hits.json");
  EXPECT_EQ(hits["hits"]["total"]["value"], 3);
  Json sorted = ExpectShape(Call("POST", search, R"({"sort":[{"size":"desc"}],"size":2})"), 200,
                            "search_sorted.json");
  EXPECT_EQ(sorted["hits"]["hits"][0]["sort"][0], 30);
  Json aggs = ExpectShape(Call("POST", search, R"({"size":0,"aggs":{
                  "by_color":{"terms":{"field":"color"}},
                  "avg_size":{"avg":{"field":"size"}},
                  "max_size":{"max":{"field":"size"}}}})"),
                          200, "search_aggs.json");
  EXPECT_EQ(aggs["aggregations"]["by_color"]["buckets"][0]["key"], "red");
  EXPECT_EQ(aggs["aggregations"]["by_color"]["buckets"][0]["doc_count"], 2);
  EXPECT_EQ(aggs["aggregations"]["avg_size"]["value"], 20.0);
  Json count = ExpectShape(Call("GET", absl::StrCat("/", index, "/_count")), 200, "count.json");
  EXPECT_EQ(count["count"], 3);
  std::string msearch = absl::StrCat("{\"index\":\"", index, "\"}\n{\"size\":1}\n{\"index\":\"",
                                     Index("missing"), "\"}\n{}\n");
  ExpectShape(Call("POST", "/_msearch", msearch, "application/x-ndjson"), 200, "msearch.json");
}

TEST_F(ShapeTest, BulkItemsAndNewlineRule) {
  const std::string index = Index("bulk");
  std::string body = absl::StrCat(
      "{\"index\":{\"_index\":\"", index, "\",\"_id\":\"b1\"}}\n{\"v\":1}\n",
      "{\"create\":{\"_index\":\"", index, "\",\"_id\":\"b1\"}}\n{\"v\":2}\n",
      "{\"update\":{\"_index\":\"", index, "\",\"_id\":\"b404\"}}\n{\"doc\":{\"v\":3}}\n",
      "{\"delete\":{\"_index\":\"", index, "\",\"_id\":\"b405\"}}\n");
  Json response =
      ExpectShape(Call("POST", "/_bulk", body, "application/x-ndjson"), 200, "bulk_mixed.json");
  EXPECT_EQ(response["items"][1]["create"]["error"]["reason"],
            "[b1]: version conflict, document already exists (current version [1])");
  ExpectShape(Call("POST", "/_bulk", "{\"delete\":{\"_index\":\"x\",\"_id\":\"1\"}}",
                   "application/x-ndjson"),
              400, "error_bulk_newline.json");
}

TEST_F(ShapeTest, Errors) {
  Json missing = ExpectShape(Call("GET", absl::StrCat("/", Index("missing"), "/_search")), 404,
                             "error_index_not_found.json");
  EXPECT_EQ(missing["error"]["reason"], absl::StrCat("no such index [", Index("missing"), "]"));
  const std::string index = Index("errors");
  Call("PUT", absl::StrCat("/", index));
  Json unknown = ExpectShape(
      Call("POST", absl::StrCat("/", index, "/_search"), R"({"query":{"no_such_query":{}}})"), 400,
      "error_unknown_query.json");
  EXPECT_EQ(unknown["error"]["reason"], "unknown query [no_such_query]");
  ExpectShape(Call("POST", absl::StrCat("/", index, "/_search"), R"({"query":)"), 400,
              "error_malformed_json.json");
  ExpectShape(Call("GET", absl::StrCat("/", index, "/_doc/1/extra")), 400, "error_no_handler.json");
  ExpectShape(Call("DELETE", "/_cluster/health"), 405, "error_method_not_allowed.json");
}

TEST_F(ShapeTest, GzipRequestAndResponseBodies) {
  const std::string index = Index("gzip");
  auto response = Call("PUT", absl::StrCat("/", index, "/_doc/1?refresh=true"),
                       GzipCompress(R"({"packed":true})"), "application/json",
                       {{"Content-Encoding", "gzip"}, {"Accept-Encoding", "gzip"}});
  EXPECT_EQ(response.status, 201) << response.body;
  ASSERT_NE(response.Header("content-encoding"), nullptr);
  EXPECT_EQ(*response.Header("content-encoding"), "gzip");
  EXPECT_THAT(response.body, HasSubstr("\"result\":\"created\""));  // client gunzipped it
  auto get = Call("GET", absl::StrCat("/", index, "/_doc/1"));
  EXPECT_THAT(get.body, HasSubstr(R"("_source":{"packed":true})"));
}

}  // namespace
}  // namespace esgw::devcluster
