// The query DSL subset the dev cluster understands (match_all, match_none, term, terms, match,
// match_phrase, multi_match, ids, bool, range, exists, prefix, constant_score), parsed into an
// evaluable tree. Scores are simple and deterministic, not BM25: a match scores the number of
// query terms found, other leaf queries score 1 (times boost), filter context scores 0.
// A parsed Query is immutable and thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/devcluster/json.h"
#include "tests/devcluster/mapping.h"

namespace esgw::devcluster {

// One document as queries see it.
struct DocView {
  const Json& source;
  const std::string& id;
  const IndexMapping& mapping;
};

class Query {
 public:
  virtual ~Query() = default;
  // The score when `doc` matches; std::nullopt when it does not.
  virtual std::optional<double> Evaluate(const DocView& doc) const = 0;
};

// Parses a query object ({"match": {...}}). `body` is the whole request text, used only to place
// parsing_exception line/col. Errors are EsError statuses (parsing_exception and friends).
absl::StatusOr<std::unique_ptr<Query>> ParseQuery(const Json& query, absl::string_view body);

std::unique_ptr<Query> MatchAllQuery();

}  // namespace esgw::devcluster
