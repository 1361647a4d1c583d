#include "server/index_references.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/error_info.h"
#include "tests/support/status_matchers.h"

namespace esgw {

// For readable failures: {index, path, feature}.
void PrintTo(const IndexReference& reference, std::ostream* out) {
  *out << "{\"" << reference.index << "\", \"" << reference.path << "\", \"" << reference.feature
       << "\"}";
}

namespace {

using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

::testing::Matcher<IndexReference> Ref(const std::string& index, const std::string& path,
                                       const std::string& feature) {
  return AllOf(Field("index", &IndexReference::index, index),
               Field("path", &IndexReference::path, path),
               Field("feature", &IndexReference::feature, feature));
}

// The references in body, or none (with a test failure) when it is rejected.
std::vector<IndexReference> Find(const std::string& body) {
  absl::StatusOr<std::vector<IndexReference>> references = FindIndexReferences(body, "body_json");
  EXPECT_THAT(references, IsOk()) << body;
  return references.ok() ? *std::move(references) : std::vector<IndexReference>();
}

// Expects INVALID_ARGUMENT naming field, with the INVALID_FIELD ErrorInfo the server maps.
MATCHER_P2(IsInvalidField, field, message, "is INVALID_ARGUMENT naming " + std::string(field)) {
  const absl::Status& status = arg.status();
  *result_listener << "status is " << status;
  const ErrorInfo info = GetErrorInfo(status);
  const auto it = info.metadata.find("field");
  return status.code() == absl::StatusCode::kInvalidArgument &&
         absl::string_view(status.message()).find(message) != absl::string_view::npos &&
         info.reason == "INVALID_FIELD" && it != info.metadata.end() && it->second == field;
}

// A top-level object holding levels nested objects in all (the top-level one included); the
// innermost is empty, or holds a number when filled.
std::string NestedObjects(int levels, bool filled) {
  std::string body;
  for (int i = 1; i < levels; ++i) body += "{\"a\":";
  body += filled ? "{\"b\":1}" : "{}";
  body.append(static_cast<size_t>(levels - 1), '}');
  return body;
}

// {"a": [[...]]} with levels nested containers in all.
std::string NestedArrays(int levels, bool filled) {
  std::string body = "{\"a\":";
  body.append(static_cast<size_t>(levels - 1), '[');
  if (filled) body += "1";
  body.append(static_cast<size_t>(levels - 1), ']');
  return body + "}";
}

std::string Wrapper(const std::string& query) {
  return absl::StrCat(R"({"wrapper":{"query":")", absl::Base64Escape(query), R"("}})");
}

// ---- Each feature. ----

TEST(FindIndexReferencesTest, TermsLookup) {
  EXPECT_THAT(Find(R"({"query":{"bool":{"filter":[{"terms":{
                  "user":{"index":"users","id":"2","path":"followers"}}}]}}})"),
              ElementsAre(Ref("users", "query.bool.filter[0].terms.user.index", "terms lookup")));
  // Routing and boost beside the lookup change nothing.
  EXPECT_THAT(Find(R"({"query":{"terms":{"boost":2,"_name":"n",
                  "color":{"index":"palettes","id":"1","path":"colors","routing":"r"}}}})"),
              ElementsAre(Ref("palettes", "query.terms.color.index", "terms lookup")));
}

TEST(FindIndexReferencesTest, TermsLookupOnTheIndexMetadataField) {
  EXPECT_THAT(Find(R"({"query":{"terms":{"_index":{"index":"names","id":"1","path":"list"}}}})"),
              ElementsAre(Ref("names", "query.terms._index.index", "terms lookup")));
}

TEST(FindIndexReferencesTest, MoreLikeThisItems) {
  EXPECT_THAT(Find(R"({"query":{"more_like_this":{"fields":["title"],
          "like":["free text",{"_id":"1"},{"_index":"movies","_id":"2"},
                  {"_index":"imdb","doc":{"title":"x"}}],
          "unlike":{"_index":"blocked","_id":"3"},"min_term_freq":1}}})"),
              ElementsAre(Ref("movies", "query.more_like_this.like[2]._index", "more_like_this"),
                          Ref("imdb", "query.more_like_this.like[3]._index", "more_like_this"),
                          Ref("blocked", "query.more_like_this.unlike._index", "more_like_this")));
}

TEST(FindIndexReferencesTest, PercolateStoredDocument) {
  EXPECT_THAT(Find(R"({"query":{"percolate":{"field":"query","index":"docs","id":"2",
                  "routing":"r","version":1}}})"),
              ElementsAre(Ref("docs", "query.percolate.index", "percolate")));
}

TEST(FindIndexReferencesTest, IndexedShapes) {
  EXPECT_THAT(
      Find(R"({"query":{"bool":{"filter":[
          {"geo_shape":{"location":{"indexed_shape":{"index":"regions","id":"de","path":"area"},
                                    "relation":"within"}}},
          {"shape":{"geometry":{"indexed_shape":{"id":"deu"}}}}]}}})"),
      ElementsAre(
          Ref("regions", "query.bool.filter[0].geo_shape.location.indexed_shape.index",
              "indexed_shape"),
          // No index: Elasticsearch reads its default shape index.
          Ref("shapes", "query.bool.filter[1].shape.geometry.indexed_shape", "indexed_shape")));
}

TEST(FindIndexReferencesTest, PinnedDocs) {
  EXPECT_THAT(Find(R"({"query":{"pinned":{"docs":[{"_index":"promo","_id":"1"},{"_id":"2"}],
                  "organic":{"match":{"description":"iphone"}}}}})"),
              ElementsAre(Ref("promo", "query.pinned.docs[0]._index", "pinned")));
  EXPECT_THAT(Find(R"({"retriever":{"pinned":{"docs":[{"_index":"promo2","_id":"1"}],
                  "retriever":{"standard":{"query":{"match_all":{}}}}}}})"),
              ElementsAre(Ref("promo2", "retriever.pinned.docs[0]._index", "pinned")));
}

TEST(FindIndexReferencesTest, LookupRuntimeFields) {
  EXPECT_THAT(
      Find(R"({"runtime_mappings":{
          "location":{"type":"lookup","target_index":"ip_location","input_field":"host",
                      "target_field":"ip","fetch_fields":["country"]},
          "day":{"type":"keyword","script":"emit"},
          "parts":{"type":"composite","script":"emit","fields":{
              "owner":{"target_index":"owners","type":"lookup","input_field":"o",
                       "target_field":"id","fetch_fields":["name"]}}},
          "odd":{"type":"keyword","target_index":"not_a_lookup_but_named"}},
          "fields":["location"]})"),
      ElementsAre(
          Ref("ip_location", "runtime_mappings.location.target_index", "lookup runtime field"),
          Ref("owners", "runtime_mappings.parts.fields.owner.target_index", "lookup runtime field"),
          // Elasticsearch refuses target_index on a keyword field; reporting it costs nothing.
          Ref("not_a_lookup_but_named", "runtime_mappings.odd.target_index",
              "lookup runtime field")));
}

TEST(FindIndexReferencesTest, WrapperQueriesAreDecoded) {
  const std::string inner = R"({"terms":{"user":{"index":"users","id":"1","path":"p"}}})";
  EXPECT_THAT(
      Find(absl::StrCat(R"({"query":)", Wrapper(inner), "}")),
      ElementsAre(Ref("users", "query.wrapper.query(decoded).terms.user.index", "terms lookup")));
  // A wrapper inside a wrapper.
  const std::string twice = Wrapper(absl::StrCat(R"({"bool":{"must":[)", Wrapper(inner), "]}}"));
  EXPECT_THAT(Find(absl::StrCat(R"({"query":)", twice, "}")),
              ElementsAre(Ref("users",
                              "query.wrapper.query(decoded).bool.must[0].wrapper.query(decoded)."
                              "terms.user.index",
                              "terms lookup")));
  // Nothing to find inside.
  EXPECT_THAT(Find(absl::StrCat(R"({"query":)", Wrapper(R"({"match_all":{}})"), "}")), IsEmpty());
}

TEST(FindIndexReferencesTest, WrapperQueriesThatCannotBeReadAreUnresolvable) {
  // Not base64; base64 of YAML (Elasticsearch would take it); not a string.
  EXPECT_THAT(Find(R"({"query":{"wrapper":{"query":"not base64!"}}})"),
              ElementsAre(Ref("", "query.wrapper.query", "wrapper query")));
  EXPECT_THAT(
      Find(absl::StrCat(R"({"query":{"wrapper":{"query":")",
                        absl::Base64Escape("terms:\n  user: {index: secret}\n"), R"("}}})")),
      ElementsAre(Ref("", "query.wrapper.query", "wrapper query")));
  EXPECT_THAT(Find(R"({"query":{"wrapper":{"query":12}}})"),
              ElementsAre(Ref("", "query.wrapper.query", "wrapper query")));
}

// ---- Wherever it is nested. ----

TEST(FindIndexReferencesTest, FoundWhereverNested) {
  const std::string lookup = R"({"terms":{"f":{"index":"L","id":"1","path":"p"}}})";
  const std::string body = absl::StrCat(
      R"({"query":{"function_score":{"query":{"nested":{"path":"n","query":)", lookup,
      R"(}},"functions":[{"filter":)", lookup, R"(,"weight":2}]}},)",
      R"("post_filter":{"bool":{"must_not":[{"match":{"x":"y"}},)", lookup, R"(]}},)",
      R"("aggs":{"outer":{"terms":{"field":"k"},"aggs":{"inner":{"filter":)", lookup,
      R"(},"sig":{"significant_terms":{"field":"t","background_filter":)", lookup, R"(}}}}},)",
      R"("rescore":[{"window_size":10,"query":{"rescore_query":{"dis_max":{"queries":[{},)", lookup,
      R"(]}}}}],)", R"("knn":{"field":"v","query_vector":[1,2],"k":1,"filter":[)", lookup, R"(]},)",
      R"("highlight":{"fields":{"t":{"highlight_query":{"has_child":{"type":"c","query":)", lookup,
      R"(}}}}}})");
  EXPECT_THAT(
      Find(body),
      ElementsAre(
          Ref("L", "query.function_score.query.nested.query.terms.f.index", "terms lookup"),
          Ref("L", "query.function_score.functions[0].filter.terms.f.index", "terms lookup"),
          Ref("L", "post_filter.bool.must_not[1].terms.f.index", "terms lookup"),
          Ref("L", "aggs.outer.aggs.inner.filter.terms.f.index", "terms lookup"),
          Ref("L", "aggs.outer.aggs.sig.significant_terms.background_filter.terms.f.index",
              "terms lookup"),
          Ref("L", "rescore[0].query.rescore_query.dis_max.queries[1].terms.f.index",
              "terms lookup"),
          Ref("L", "knn.filter[0].terms.f.index", "terms lookup"),
          Ref("L", "highlight.fields.t.highlight_query.has_child.query.terms.f.index",
              "terms lookup")));
}

// ---- What is not a reference. ----

TEST(FindIndexReferencesTest, OrdinaryQueriesAreNotReferences) {
  for (const char* body : {
           R"({"query":{"term":{"index":"x"}}})",
           R"({"query":{"match":{"index":"x"}}})",
           R"({"query":{"match":{"index":{"query":"x","operator":"and"}}}})",
           R"({"query":{"term":{"_index":"secret"}}})",
           R"({"query":{"terms":{"_index":["a","b"]}}})",
           R"({"query":{"terms":{"index":["a"],"boost":2}}})",
           R"({"query":{"term":{"target_index":"x"}}})",
           R"({"query":{"term":{"indexed_shape":{"value":"x"}}}})",
           R"({"query":{"match":{"wrapper":{"query":"hello world","operator":"and"}}}})",
           // A terms aggregation ordered by a sub-aggregation named "index".
           R"({"aggs":{"by":{"terms":{"field":"index","order":{"index":"asc"}},
                             "aggs":{"index":{"max":{"field":"n"}}}}}})",
           R"({"sort":[{"index":"asc"}],"_source":["index"],"docvalue_fields":[{"field":"index"}],
               "highlight":{"fields":{"percolate":{}}},"indices_boost":[{"other":1.5}]})",
           // more_like_this items without _index read the search's own targets.
           R"({"query":{"more_like_this":{"fields":["t"],
               "like":["text",{"_id":"1"},{"doc":{"t":"x"}}]}}})",
           R"({"query":{"pinned":{"ids":["1"],"organic":{"match_all":{}}}}})",
           R"({"query":{"pinned":{"docs":[{"_id":"1"}],"organic":{"match_all":{}}}}})",
           // The percolated document is data; its "index" field is not the percolate's.
           R"({"query":{"percolate":{"field":"q","document":{"index":"x"}}}})",
           R"({"query":{"geo_shape":{"location":{"shape":{"type":"envelope",
               "coordinates":[[13,53],[14,52]]},"relation":"within"}}}})",
           "{}",
           "",
       }) {
    EXPECT_THAT(Find(body), IsEmpty()) << body;
  }
}

// ---- Conservative reporting. ----

TEST(FindIndexReferencesTest, ValuesThatAreNotStringsAreUnresolvable) {
  EXPECT_THAT(
      Find(R"({"query":{"bool":{"should":[
          {"terms":{"f":{"index":42,"id":"1","path":"p"}}},
          {"more_like_this":{"like":{"_index":["a","b"],"_id":"1"}}},
          {"percolate":{"field":"q","index":{"name":"x"},"id":"1"}},
          {"pinned":{"docs":[{"_index":null,"_id":"1"}]}}]}},
          "runtime_mappings":{"r":{"type":"lookup","target_index":true}}})"),
      ElementsAre(Ref("", "query.bool.should[0].terms.f.index", "terms lookup"),
                  Ref("", "query.bool.should[1].more_like_this.like._index", "more_like_this"),
                  Ref("", "query.bool.should[2].percolate.index", "percolate"),
                  Ref("", "query.bool.should[3].pinned.docs[0]._index", "pinned"),
                  Ref("", "runtime_mappings.r.target_index", "lookup runtime field")));
}

TEST(FindIndexReferencesTest, CommaSeparatedNamesAreSplit) {
  EXPECT_THAT(Find(R"({"query":{"terms":{"f":{"index":"logs-a,secret","id":"1","path":"p"}}}})"),
              ElementsAre(Ref("logs-a", "query.terms.f.index", "terms lookup"),
                          Ref("secret", "query.terms.f.index", "terms lookup")));
  EXPECT_THAT(Find(R"({"query":{"percolate":{"field":"q","index":"","id":"1"}}})"),
              ElementsAre(Ref("", "query.percolate.index", "percolate")));
}

TEST(FindIndexReferencesTest, EveryDuplicateAndEscapedKeyCounts) {
  EXPECT_THAT(Find(R"({"query":{"terms":{"f":{"index":"a","index":"b","id":"1","path":"p"}}}})"),
              ElementsAre(Ref("a", "query.terms.f.index", "terms lookup"),
                          Ref("b", "query.terms.f.index", "terms lookup")));
  EXPECT_THAT(Find(R"({"query":{"te\u0072ms":{"f":{"\u0069ndex":"c","id":"1","path":"p"}}}})"),
              ElementsAre(Ref("c", "query.terms.f.index", "terms lookup")));
}

TEST(FindIndexReferencesTest, OnePlaceMatchingTwoRulesIsReportedOnce) {
  // A terms lookup on a field named "percolate" also looks like a percolate query.
  EXPECT_THAT(Find(R"({"query":{"terms":{"percolate":{"index":"a","id":"1","path":"p"}}}})"),
              ElementsAre(Ref("a", "query.terms.percolate.index", "terms lookup")));
}

TEST(FindIndexReferencesTest, LongPathsAreCut) {
  const std::string key(2000, 'k');
  const std::vector<IndexReference> references =
      Find(absl::StrCat(R"({")", key, R"(":{"percolate":{"field":"q","index":"a","id":"1"}}})"));
  ASSERT_THAT(references, SizeIs(1));
  EXPECT_EQ(references[0].index, "a");
  EXPECT_THAT(references[0].path, EndsWith("..."));
  EXPECT_LE(references[0].path.size(), 512u + 3);
}

TEST(FindIndexReferencesTest, LargeBodiesAreRead) {
  // Past the size the thread's parser keeps: parsed by a parser of its own.
  const std::string padding(3 << 20, 'x');
  EXPECT_THAT(
      Find(absl::StrCat(R"({"query":{"bool":{"must":{"match":{"t":")", padding,
                        R"("}},"filter":{"percolate":{"field":"q","index":"big","id":"1"}}}}})")),
      ElementsAre(Ref("big", "query.bool.filter.percolate.index", "percolate")));
}

// ---- Rejected bodies. ----

TEST(FindIndexReferencesTest, MalformedJsonIsInvalidArgument) {
  for (const char* body : {"{", R"({"query":})", "{} trailing", R"({"a":"\x"})", "not json"}) {
    EXPECT_THAT(FindIndexReferences(body, "searches[2].body_json"),
                IsInvalidField("searches[2].body_json", "must be valid JSON"))
        << body;
  }
  EXPECT_THAT(FindIndexReferences("[1,2]", "body_json"),
              IsInvalidField("body_json", "must be a JSON object"));
}

TEST(FindIndexReferencesTest, DeepNestingIsRejectedWithoutOverflow) {
  for (const bool filled : {false, true}) {
    EXPECT_THAT(FindIndexReferences(NestedObjects(10000, filled), "body_json"),
                IsInvalidField("body_json", "deeper than 1000"));
    EXPECT_THAT(FindIndexReferences(NestedArrays(10000, filled), "body_json"),
                IsInvalidField("body_json", "deeper than 1000"));
  }
}

TEST(FindIndexReferencesTest, DepthBoundIsExact) {
  for (const bool filled : {false, true}) {
    EXPECT_THAT(FindIndexReferences(NestedObjects(kMaxIndexReferenceDepth, filled), "b"), IsOk());
    EXPECT_THAT(FindIndexReferences(NestedArrays(kMaxIndexReferenceDepth, filled), "b"), IsOk());
    EXPECT_THAT(FindIndexReferences(NestedObjects(kMaxIndexReferenceDepth + 1, filled), "b"),
                IsInvalidField("b", "deeper than 1000"));
    EXPECT_THAT(FindIndexReferences(NestedArrays(kMaxIndexReferenceDepth + 1, filled), "b"),
                IsInvalidField("b", "deeper than 1000"));
  }
}

TEST(FindIndexReferencesTest, WrapperContentCountsTowardTheDepth) {
  // The wrapper object is at depth 3, so its content may nest 997 levels more.
  const auto body = [](int levels) {
    return absl::StrCat(R"({"query":)", Wrapper(NestedObjects(levels, true)), "}");
  };
  EXPECT_THAT(FindIndexReferences(body(kMaxIndexReferenceDepth - 3), "b"), IsOk());
  EXPECT_THAT(FindIndexReferences(body(kMaxIndexReferenceDepth - 2), "b"),
              IsInvalidField("b", "deeper than 1000"));
  EXPECT_THAT(FindIndexReferences(body(10000), "b"), IsInvalidField("b", "deeper than 1000"));
}

TEST(FindIndexReferencesTest, TooManyReferencesAreRejected) {
  const auto body = [](size_t count) {
    std::vector<std::string> docs;
    for (size_t i = 0; i < count; ++i) {
      docs.push_back(absl::StrCat(R"({"_index":"i)", i, R"(","_id":"1"})"));
    }
    return absl::StrCat(R"({"query":{"pinned":{"docs":[)", absl::StrJoin(docs, ","), "]}}}");
  };
  absl::StatusOr<std::vector<IndexReference>> at_limit =
      FindIndexReferences(body(kMaxIndexReferences), "b");
  ASSERT_THAT(at_limit, IsOk());
  EXPECT_THAT(*at_limit, SizeIs(kMaxIndexReferences));
  EXPECT_THAT(FindIndexReferences(body(kMaxIndexReferences + 1), "b"),
              IsInvalidField("b", "more than 1000"));
}

TEST(FindIndexReferencesTest, TooManyWrapperQueriesAreRejected) {
  const auto body = [](size_t count) {
    std::vector<std::string> queries(count, Wrapper(R"({"match_all":{}})"));
    return absl::StrCat(R"({"query":{"bool":{"should":[)", absl::StrJoin(queries, ","), "]}}}");
  };
  EXPECT_THAT(FindIndexReferences(body(kMaxWrapperQueries), "b"), IsOk());
  EXPECT_THAT(FindIndexReferences(body(kMaxWrapperQueries + 1), "b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wrapper queries")));
}

}  // namespace
}  // namespace esgw
