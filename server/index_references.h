// Finds where an Elasticsearch search body makes Elasticsearch read another index than the
// search's targets (a terms lookup, more_like_this items, a stored percolate document, an indexed
// shape, pinned docs, a lookup runtime field), so index-level authorization can check those too.
// Thread-safe: a pure function; each thread parses with its own reusable parser.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace esgw {

// One place in a search body that names an index Elasticsearch will read from.
struct IndexReference {
  // The index as written, one name per reference: it may be an alias, a wildcard pattern, date
  // math or "cluster:index", so check it the way search targets are checked. Empty when the body
  // gives no usable name (see "Unresolvable" below): the caller must deny such a reference.
  std::string index = "";
  // Where in the body, e.g. "query.bool.filter[0].terms.user.index": array positions in brackets,
  // "(decoded)" after a wrapper query's base64 text. Cut after 512 bytes and marked "...", since
  // keys are the client's and may be long.
  std::string path = "";
  // "terms lookup", "more_like_this", "percolate", "indexed_shape", "pinned",
  // "lookup runtime field" or "wrapper query".
  std::string feature = "";
};

// Bounds on hostile bodies. Depth: objects and arrays nested deeper than this are rejected; 1000
// is the default nesting limit of the JSON parser Elasticsearch reads bodies with, so nothing
// Elasticsearch accepts at that level is refused. A wrapper query's decoded content counts from
// where the wrapper sits. The walk is iterative, so the bound limits work, not stack.
inline constexpr int kMaxIndexReferenceDepth = 1000;
// More references than this (after removing exact duplicates) are rejected rather than listed.
inline constexpr size_t kMaxIndexReferences = 1000;
// More wrapper queries than this are rejected: each decodes into a document of its own.
inline constexpr size_t kMaxWrapperQueries = 64;

// Every reference in body_json (a search body) to an index Elasticsearch reads besides the
// search's targets, in document order. It lists every explicitly named index, also one that is a
// target: this function does not know the targets.
//
// The rule. The whole body is walked (query, post_filter, aggregations, rescore, knn, retriever,
// suggest, runtime_mappings, highlight, and anything nested in them, at any depth), and a reference
// is recognised by the shape Elasticsearch itself parses as one, never by a key named "index"
// alone, so {"term":{"index":"x"}}, {"match":{"index":"x"}} and {"term":{"_index":"x"}} are not
// references:
//   terms lookup          "index" of an object-valued member of a "terms" object that also has
//                         "id" or "path" (Elasticsearch requires all three). The terms
//                         aggregation's objects ("order", "include", "script") have neither.
//   more_like_this        "_index" of each object item in the "like" or "unlike" of a
//                         "more_like_this" object, alone or in an array; also for an artificial
//                         "doc", whose analysis uses that index's mapping. Items without "_index"
//                         read the search's own targets and are not references.
//   percolate             "index" of a "percolate" object (percolating a stored document).
//   indexed_shape         "index" of an "indexed_shape" object (geo_shape and shape queries); one
//                         with "id" but no "index" reads Elasticsearch's default index "shapes",
//                         which is reported at the indexed_shape object's path.
//   pinned                "_index" of each object in the "docs" of a "pinned" object (query or
//                         retriever); "ids" and docs without "_index" read the targets.
//   lookup runtime field  "target_index" of an object that has "type": "lookup" or sits directly
//                         under "runtime_mappings" (a composite field's lookup sub-fields too).
//   wrapper query         the "query" of a "wrapper" object whose only members are "query" is
//                         base64 of a query: it is decoded and walked as part of the body.
//
// Conservative by design, so a mistake denies a search rather than lets a read through:
//   - Every occurrence counts: each of duplicate keys gives a reference.
//   - A comma-separated value gives one reference per name ("a,b": "a" and "b"), so that a pattern
//     such as logs-* cannot match "logs-a,secret" as a whole.
//   - Unresolvable: a value that is not a string (number, bool, null, array, object), and a wrapper
//     query that is not base64 of JSON (Elasticsearch also takes SMILE, CBOR and YAML there), give
//     a reference with an empty index. No pattern with a literal character matches ""; one made
//     only of * does, but it allows every index anyway.
//   - Free-form values (a percolated "document", an artificial "doc", script "params") are walked
//     like the query DSL, so data shaped like a reference is reported too.
//
// Known limits:
//   - Names are matched as Elasticsearch 7 and 8 and OpenSearch 1 and 2 spell them; plugins'
//     own features (e.g. a learning-to-rank feature store) are unknown.
//   - Mustache templates given as strings (a phrase suggester's collate "source") and stored
//     scripts are opaque. They run on the search's own shards.
//   - A point in time ("pit") carries its indices inside an opaque id; such a search has no
//     targets, which the target check already treats as every index.
//   - Query rules ("rule" query, "ruleset_ids") read rulesets from a system index, not documents,
//     and are not reported.
//   - A match query on a field named "wrapper" whose only option is "query", with text that is not
//     base64 JSON, is reported as an unresolvable wrapper query.
//
// field names the body in errors, e.g. "body_json" or "searches[2].body_json". An empty body (a
// search without one) has no references. Returns INVALID_ARGUMENT (ErrorInfo INVALID_FIELD naming
// field) when the body is not valid JSON, is not an object, nests deeper than
// kMaxIndexReferenceDepth, or has more than kMaxIndexReferences references or kMaxWrapperQueries
// wrapper queries.
absl::StatusOr<std::vector<IndexReference>> FindIndexReferences(absl::string_view body_json,
                                                                absl::string_view field);

}  // namespace esgw
