#include "tests/devcluster/query.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "pool/status_macros.h"
#include "tests/devcluster/es_error.h"

namespace esgw::devcluster {
namespace {

using QueryPtr = std::unique_ptr<Query>;

class Parser {
 public:
  explicit Parser(absl::string_view body) : body_(body) {}

  absl::StatusOr<QueryPtr> Parse(const Json& query);

 private:
  absl::Status Error(absl::string_view reason, absl::string_view near_key) const {
    auto [line, column] = LocateKey(body_, near_key);
    return ToStatus(ParsingError(reason, line, column));
  }
  absl::Status Unsupported(absl::string_view query, absl::string_view key) const {
    return Error(absl::StrCat("[", query, "] query does not support [", key, "]"), key);
  }
  // For {"term": {"field": value-or-object}} shaped queries: the single field and its body.
  absl::StatusOr<std::pair<std::string, const Json*>> SingleField(absl::string_view query,
                                                                  const Json& body) const;
  absl::StatusOr<std::vector<QueryPtr>> ParseClauses(const Json& clauses);

  absl::StatusOr<QueryPtr> ParseTerm(const Json& body);
  absl::StatusOr<QueryPtr> ParseTerms(const Json& body);
  absl::StatusOr<QueryPtr> ParseMatch(const Json& body, bool phrase);
  absl::StatusOr<QueryPtr> ParseMultiMatch(const Json& body);
  absl::StatusOr<QueryPtr> ParseIds(const Json& body);
  absl::StatusOr<QueryPtr> ParseBool(const Json& body);
  absl::StatusOr<QueryPtr> ParseRange(const Json& body);
  absl::StatusOr<QueryPtr> ParseExists(const Json& body);
  absl::StatusOr<QueryPtr> ParsePrefix(const Json& body);
  absl::StatusOr<QueryPtr> ParseConstantScore(const Json& body);

  absl::string_view body_;
};

double BoostOf(const Json& body) {
  const Json* boost = Find(body, "boost");
  return boost != nullptr && boost->is_number() ? boost->get<double>() : 1.0;
}

// Applies minimum_should_match ("2", "-1", "75%", "-25%") to `optional_count` clauses.
int RequiredMatches(const Json* spec, int optional_count, int fallback) {
  if (spec == nullptr || spec->is_null()) return fallback;
  int required = fallback;
  if (spec->is_number_integer()) {
    required = spec->get<int>();
    if (required < 0) required += optional_count;
  } else if (spec->is_string()) {
    absl::string_view text = spec->get_ref<const std::string&>();
    bool percent = absl::ConsumeSuffix(&text, "%");
    int value = 0;
    if (!absl::SimpleAtoi(text, &value)) return fallback;
    if (percent) {
      int magnitude = static_cast<int>(std::floor(optional_count * std::abs(value) / 100.0));
      required = value < 0 ? optional_count - magnitude : magnitude;
    } else {
      required = value < 0 ? optional_count + value : value;
    }
  }
  if (required < 0) required = 0;
  if (required > optional_count) required = optional_count;
  return required;
}

class MatchAll : public Query {
 public:
  explicit MatchAll(double boost) : boost_(boost) {}
  std::optional<double> Evaluate(const DocView&) const override { return boost_; }

 private:
  double boost_;
};

class MatchNone : public Query {
 public:
  std::optional<double> Evaluate(const DocView&) const override { return std::nullopt; }
};

// Field values compared with query values (term, terms).
class TermsQuery : public Query {
 public:
  TermsQuery(std::string field, std::vector<Json> values, double boost)
      : field_(std::move(field)), values_(std::move(values)), boost_(boost) {}

  std::optional<double> Evaluate(const DocView& doc) const override {
    std::optional<ResolvedField> field = doc.mapping.Resolve(field_);
    if (!field.has_value()) return std::nullopt;
    std::vector<FieldValue> values = ExtractValues(doc.source, *field);
    for (const Json& wanted : values_) {
      std::optional<FieldValue> target = ConvertQueryValue(wanted, field->type);
      if (!target.has_value()) continue;
      for (const FieldValue& value : values) {
        if (CompareValues(value, *target) == 0) return boost_;
      }
    }
    return std::nullopt;
  }

 private:
  std::string field_;
  std::vector<Json> values_;
  double boost_;
};

class MatchQuery : public Query {
 public:
  MatchQuery(std::vector<std::string> fields, Json text, bool all_required, const Json* msm,
             bool phrase, double boost)
      : fields_(std::move(fields)),
        text_(std::move(text)),
        all_required_(all_required),
        msm_(msm != nullptr ? *msm : Json()),
        phrase_(phrase),
        boost_(boost) {
    if (text_.is_string()) tokens_ = Analyze(text_.get_ref<const std::string&>());
  }

  std::optional<double> Evaluate(const DocView& doc) const override {
    std::optional<double> best;
    for (const std::string& name : fields_) {
      std::optional<double> score = EvaluateField(doc, name);
      if (score.has_value() && (!best.has_value() || *score > *best)) best = score;
    }
    return best;
  }

 private:
  std::optional<double> EvaluateField(const DocView& doc, const std::string& name) const {
    std::optional<ResolvedField> field = doc.mapping.Resolve(name);
    if (!field.has_value()) return std::nullopt;
    if (field->type != FieldType::kText) {
      // Non-text fields match the whole value, as a term query would.
      std::optional<FieldValue> target = ConvertQueryValue(text_, field->type);
      if (!target.has_value()) return std::nullopt;
      for (const FieldValue& value : ExtractValues(doc.source, *field)) {
        if (CompareValues(value, *target) == 0) return boost_;
      }
      return std::nullopt;
    }
    if (tokens_.empty()) return std::nullopt;
    std::vector<FieldValue> values = ExtractValues(doc.source, *field);
    if (phrase_)
      return ContainsPhrase(values) ? std::optional<double>(boost_ * tokens_.size()) : std::nullopt;
    absl::flat_hash_set<std::string> present;
    for (const FieldValue& value : values) present.insert(value.text);
    absl::flat_hash_set<std::string> distinct(tokens_.begin(), tokens_.end());
    int matched = 0;
    for (const std::string& token : distinct) matched += present.contains(token) ? 1 : 0;
    int total = static_cast<int>(distinct.size());
    int required = all_required_ ? total : RequiredMatches(&msm_, total, 1);
    if (required < 1) required = 1;
    if (matched < required) return std::nullopt;
    return boost_ * matched;
  }

  bool ContainsPhrase(const std::vector<FieldValue>& values) const {
    if (values.size() < tokens_.size()) return false;
    for (std::size_t start = 0; start + tokens_.size() <= values.size(); ++start) {
      bool all = true;
      for (std::size_t i = 0; i < tokens_.size() && all; ++i) {
        all = values[start + i].text == tokens_[i];
      }
      if (all) return true;
    }
    return false;
  }

  std::vector<std::string> fields_;
  Json text_;
  std::vector<std::string> tokens_;
  bool all_required_;
  Json msm_;
  bool phrase_;
  double boost_;
};

class IdsQuery : public Query {
 public:
  IdsQuery(absl::flat_hash_set<std::string> ids, double boost)
      : ids_(std::move(ids)), boost_(boost) {}
  std::optional<double> Evaluate(const DocView& doc) const override {
    if (ids_.contains(doc.id)) return boost_;
    return std::nullopt;
  }

 private:
  absl::flat_hash_set<std::string> ids_;
  double boost_;
};

class BoolQuery : public Query {
 public:
  std::vector<QueryPtr> must, filter, should, must_not;
  Json minimum_should_match;
  double boost = 1.0;

  std::optional<double> Evaluate(const DocView& doc) const override {
    double score = 0;
    for (const QueryPtr& clause : must) {
      std::optional<double> s = clause->Evaluate(doc);
      if (!s.has_value()) return std::nullopt;
      score += *s;
    }
    for (const QueryPtr& clause : filter) {
      if (!clause->Evaluate(doc).has_value()) return std::nullopt;
    }
    for (const QueryPtr& clause : must_not) {
      if (clause->Evaluate(doc).has_value()) return std::nullopt;
    }
    int fallback = (must.empty() && filter.empty() && !should.empty()) ? 1 : 0;
    int required =
        RequiredMatches(&minimum_should_match, static_cast<int>(should.size()), fallback);
    int matched = 0;
    for (const QueryPtr& clause : should) {
      std::optional<double> s = clause->Evaluate(doc);
      if (s.has_value()) {
        ++matched;
        score += *s;
      }
    }
    if (matched < required) return std::nullopt;
    if (must.empty() && filter.empty() && should.empty() && must_not.empty()) score = 1.0;
    return score * boost;
  }
};

class RangeQuery : public Query {
 public:
  std::string field;
  std::optional<Json> gt, gte, lt, lte;
  double boost = 1.0;

  std::optional<double> Evaluate(const DocView& doc) const override {
    std::optional<ResolvedField> resolved = doc.mapping.Resolve(field);
    if (!resolved.has_value()) return std::nullopt;
    struct Bound {
      std::optional<FieldValue> value;
      bool set = false;
    };
    auto convert = [&](const std::optional<Json>& raw) {
      Bound bound;
      if (raw.has_value() && !raw->is_null()) {
        bound.set = true;
        bound.value = ConvertQueryValue(*raw, resolved->type);
      }
      return bound;
    };
    Bound lower_open = convert(gt), lower_closed = convert(gte);
    Bound upper_open = convert(lt), upper_closed = convert(lte);
    for (const Bound* bound : {&lower_open, &lower_closed, &upper_open, &upper_closed}) {
      if (bound->set && !bound->value.has_value()) return std::nullopt;
    }
    for (const FieldValue& value : ExtractValues(doc.source, *resolved)) {
      if (lower_open.set && CompareValues(value, *lower_open.value) <= 0) continue;
      if (lower_closed.set && CompareValues(value, *lower_closed.value) < 0) continue;
      if (upper_open.set && CompareValues(value, *upper_open.value) >= 0) continue;
      if (upper_closed.set && CompareValues(value, *upper_closed.value) > 0) continue;
      return boost;
    }
    return std::nullopt;
  }
};

class ExistsQuery : public Query {
 public:
  ExistsQuery(std::string field, double boost) : field_(std::move(field)), boost_(boost) {}
  std::optional<double> Evaluate(const DocView& doc) const override {
    std::optional<ResolvedField> resolved = doc.mapping.Resolve(field_);
    if (!resolved.has_value()) return std::nullopt;
    std::vector<const Json*> raw;
    CollectRawValues(doc.source, resolved->source_path, &raw);
    if (raw.empty()) return std::nullopt;
    return boost_;
  }

 private:
  std::string field_;
  double boost_;
};

class PrefixQuery : public Query {
 public:
  PrefixQuery(std::string field, std::string prefix, double boost)
      : field_(std::move(field)), prefix_(std::move(prefix)), boost_(boost) {}
  std::optional<double> Evaluate(const DocView& doc) const override {
    std::optional<ResolvedField> resolved = doc.mapping.Resolve(field_);
    if (!resolved.has_value()) return std::nullopt;
    for (const FieldValue& value : ExtractValues(doc.source, *resolved)) {
      if (value.kind == FieldValue::Kind::kString && absl::StartsWith(value.text, prefix_)) {
        return boost_;
      }
    }
    return std::nullopt;
  }

 private:
  std::string field_;
  std::string prefix_;
  double boost_;
};

class ConstantScore : public Query {
 public:
  ConstantScore(QueryPtr filter, double boost) : filter_(std::move(filter)), boost_(boost) {}
  std::optional<double> Evaluate(const DocView& doc) const override {
    if (!filter_->Evaluate(doc).has_value()) return std::nullopt;
    return boost_;
  }

 private:
  QueryPtr filter_;
  double boost_;
};

absl::StatusOr<QueryPtr> Parser::Parse(const Json& query) {
  if (!query.is_object()) {
    return Error("[_na] query malformed, must start with start_object", "query");
  }
  if (query.empty()) return Error("query malformed, empty clause found", "query");
  auto it = query.begin();
  const std::string& name = it.key();
  if (query.size() > 1) {
    auto second = std::next(it);
    return Error(absl::StrCat("[", name, "] malformed query, expected [END_OBJECT] but found [",
                              "FIELD_NAME]"),
                 second.key());
  }
  const Json& body = it.value();
  if (name == "match_all") {
    if (!body.is_object()) return Error("[match_all] query malformed", name);
    return QueryPtr(std::make_unique<MatchAll>(BoostOf(body)));
  }
  if (name == "match_none") return QueryPtr(std::make_unique<MatchNone>());
  if (name == "term") return ParseTerm(body);
  if (name == "terms") return ParseTerms(body);
  if (name == "match") return ParseMatch(body, false);
  if (name == "match_phrase") return ParseMatch(body, true);
  if (name == "multi_match") return ParseMultiMatch(body);
  if (name == "ids") return ParseIds(body);
  if (name == "bool") return ParseBool(body);
  if (name == "range") return ParseRange(body);
  if (name == "exists") return ParseExists(body);
  if (name == "prefix") return ParsePrefix(body);
  if (name == "constant_score") return ParseConstantScore(body);

  auto [line, column] = LocateKey(body_, name);
  EsError error = ParsingError(absl::StrCat("unknown query [", name, "]"), line, column);
  auto cause = std::make_shared<EsError>();
  cause->status = 400;
  cause->type = "named_object_not_found_exception";
  cause->reason = absl::StrCat("[", line, ":", column, "] unknown field [", name, "]");
  error.caused_by = std::move(cause);
  error.root_cause_override = std::make_shared<EsError>(error);
  error.root_cause_override->caused_by = nullptr;
  return ToStatus(error);
}

absl::StatusOr<std::pair<std::string, const Json*>> Parser::SingleField(absl::string_view query,
                                                                        const Json& body) const {
  if (!body.is_object() || body.empty()) {
    return Error(absl::StrCat("[", query, "] query malformed, no field specified"), query);
  }
  const std::string* field = nullptr;
  const Json* value = nullptr;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "boost" || it.key() == "_name") continue;
    if (field != nullptr) {
      return Error(absl::StrCat("[", query, "] query doesn't support multiple fields, found [",
                                *field, "] and [", it.key(), "]"),
                   it.key());
    }
    field = &it.key();
    value = &it.value();
  }
  if (field == nullptr) {
    return Error(absl::StrCat("[", query, "] query malformed, no field specified"), query);
  }
  return std::make_pair(*field, value);
}

absl::StatusOr<QueryPtr> Parser::ParseTerm(const Json& body) {
  ESGW_ASSIGN_OR_RETURN(auto field, SingleField("term", body));
  const Json* value = field.second;
  double boost = 1.0;
  if (value->is_object()) {
    for (const auto& [key, child] : value->items()) {
      if (key != "value" && key != "boost" && key != "case_insensitive" && key != "_name") {
        return Unsupported("term", key);
      }
    }
    boost = BoostOf(*value);
    value = Find(*value, "value");
    if (value == nullptr) return Error("[term] query malformed, no value specified", "term");
  }
  if (!value->is_primitive() || value->is_null()) {
    return Error("[term] query does not support array of values", field.first);
  }
  return QueryPtr(std::make_unique<TermsQuery>(field.first, std::vector<Json>{*value}, boost));
}

absl::StatusOr<QueryPtr> Parser::ParseTerms(const Json& body) {
  if (!body.is_object()) return Error("[terms] query malformed", "terms");
  std::string field;
  std::vector<Json> values;
  for (const auto& [key, child] : body.items()) {
    if (key == "boost" || key == "_name") continue;
    if (!field.empty()) {
      return Error(absl::StrCat("[terms] query does not support multiple fields"), key);
    }
    if (!child.is_array()) {
      return Error(absl::StrCat("[terms] query does not support [", key, "]"), key);
    }
    field = key;
    values.assign(child.begin(), child.end());
  }
  if (field.empty()) return Error("[terms] query requires a field", "terms");
  return QueryPtr(std::make_unique<TermsQuery>(field, std::move(values), BoostOf(body)));
}

absl::StatusOr<QueryPtr> Parser::ParseMatch(const Json& body, bool phrase) {
  absl::string_view name = phrase ? "match_phrase" : "match";
  ESGW_ASSIGN_OR_RETURN(auto field, SingleField(name, body));
  const Json* value = field.second;
  bool all_required = false;
  const Json* msm = nullptr;
  double boost = 1.0;
  if (value->is_object()) {
    for (const auto& [key, child] : value->items()) {
      if (key == "query" || key == "boost" || key == "_name" || key == "analyzer" ||
          key == "fuzziness" || key == "lenient" || key == "zero_terms_query" ||
          key == "auto_generate_synonyms_phrase_query" || key == "slop") {
        continue;
      }
      if (key == "operator") {
        std::string op = child.is_string() ? child.get<std::string>() : "";
        if (op == "and" || op == "AND") {
          all_required = true;
        } else if (op != "or" && op != "OR") {
          return Error(absl::StrCat("operator [", op, "] is not supported"), key);
        }
        continue;
      }
      if (key == "minimum_should_match") {
        msm = &child;
        continue;
      }
      return Unsupported(name, key);
    }
    boost = BoostOf(*value);
    value = Find(*value, "query");
    if (value == nullptr) {
      return Error(absl::StrCat("No text specified for text query"), field.first);
    }
  }
  if (!value->is_primitive() || value->is_null()) {
    return Error(absl::StrCat("[", name, "] unknown token [START_ARRAY] after [", field.first, "]"),
                 field.first);
  }
  return QueryPtr(std::make_unique<MatchQuery>(std::vector<std::string>{field.first}, *value,
                                               all_required, msm, phrase, boost));
}

absl::StatusOr<QueryPtr> Parser::ParseMultiMatch(const Json& body) {
  if (!body.is_object()) return Error("[multi_match] query malformed", "multi_match");
  const Json* text = Find(body, "query");
  if (text == nullptr) return Error("No text specified for multi_match query", "multi_match");
  std::vector<std::string> fields;
  if (const Json* list = Find(body, "fields"); list != nullptr) {
    for (const Json& field : *list) {
      if (!field.is_string()) continue;
      std::string name = field.get<std::string>();
      // "title^2" boosts are accepted and ignored.
      fields.push_back(name.substr(0, name.find('^')));
    }
  }
  if (fields.empty()) return Error("[multi_match] requires fields", "multi_match");
  bool all_required = GetString(body, "operator").value_or("or") == "and";
  const Json* msm = Find(body, "minimum_should_match");
  std::string type = GetString(body, "type").value_or("best_fields");
  return QueryPtr(std::make_unique<MatchQuery>(std::move(fields), *text, all_required, msm,
                                               type == "phrase", BoostOf(body)));
}

absl::StatusOr<QueryPtr> Parser::ParseIds(const Json& body) {
  const Json* values = Find(body, "values");
  if (values == nullptr || !values->is_array()) {
    return Error("[ids] query malformed, no values specified", "ids");
  }
  absl::flat_hash_set<std::string> ids;
  for (const Json& value : *values) {
    if (value.is_string()) ids.insert(value.get<std::string>());
    if (value.is_number()) ids.insert(Dump(value));
  }
  return QueryPtr(std::make_unique<IdsQuery>(std::move(ids), BoostOf(body)));
}

absl::StatusOr<std::vector<QueryPtr>> Parser::ParseClauses(const Json& clauses) {
  std::vector<QueryPtr> out;
  if (clauses.is_array()) {
    for (const Json& clause : clauses) {
      ESGW_ASSIGN_OR_RETURN(QueryPtr query, Parse(clause));
      out.push_back(std::move(query));
    }
  } else {
    ESGW_ASSIGN_OR_RETURN(QueryPtr query, Parse(clauses));
    out.push_back(std::move(query));
  }
  return out;
}

absl::StatusOr<QueryPtr> Parser::ParseBool(const Json& body) {
  if (!body.is_object()) return Error("[bool] query malformed", "bool");
  auto query = std::make_unique<BoolQuery>();
  for (const auto& [key, value] : body.items()) {
    if (key == "must") {
      ESGW_ASSIGN_OR_RETURN(query->must, ParseClauses(value));
    } else if (key == "filter") {
      ESGW_ASSIGN_OR_RETURN(query->filter, ParseClauses(value));
    } else if (key == "should") {
      ESGW_ASSIGN_OR_RETURN(query->should, ParseClauses(value));
    } else if (key == "must_not") {
      ESGW_ASSIGN_OR_RETURN(query->must_not, ParseClauses(value));
    } else if (key == "minimum_should_match") {
      query->minimum_should_match = value;
    } else if (key == "boost") {
      query->boost = value.is_number() ? value.get<double>() : 1.0;
    } else if (key == "_name" || key == "adjust_pure_negative") {
      continue;
    } else {
      return Unsupported("bool", key);
    }
  }
  return QueryPtr(std::move(query));
}

absl::StatusOr<QueryPtr> Parser::ParseRange(const Json& body) {
  ESGW_ASSIGN_OR_RETURN(auto field, SingleField("range", body));
  if (!field.second->is_object()) {
    return Error(absl::StrCat("[range] query does not support [", field.first, "]"), field.first);
  }
  auto query = std::make_unique<RangeQuery>();
  query->field = field.first;
  for (const auto& [key, value] : field.second->items()) {
    if (key == "gt") {
      query->gt = value;
    } else if (key == "gte" || key == "from") {
      query->gte = value;
    } else if (key == "lt") {
      query->lt = value;
    } else if (key == "lte" || key == "to") {
      query->lte = value;
    } else if (key == "boost") {
      query->boost = value.is_number() ? value.get<double>() : 1.0;
    } else if (key == "format" || key == "time_zone" || key == "relation" || key == "_name" ||
               key == "include_lower" || key == "include_upper") {
      continue;
    } else {
      return Unsupported("range", key);
    }
  }
  return QueryPtr(std::move(query));
}

absl::StatusOr<QueryPtr> Parser::ParseExists(const Json& body) {
  std::optional<std::string> field = GetString(body, "field");
  if (!field.has_value()) return Error("[exists] must be provided with a [field]", "exists");
  return QueryPtr(std::make_unique<ExistsQuery>(*field, BoostOf(body)));
}

absl::StatusOr<QueryPtr> Parser::ParsePrefix(const Json& body) {
  ESGW_ASSIGN_OR_RETURN(auto field, SingleField("prefix", body));
  const Json* value = field.second;
  double boost = 1.0;
  if (value->is_object()) {
    boost = BoostOf(*value);
    value = Find(*value, "value");
    if (value == nullptr) return Error("[prefix] query malformed, no value", "prefix");
  }
  if (!value->is_string()) return Error("[prefix] value must be a string", field.first);
  return QueryPtr(std::make_unique<PrefixQuery>(field.first, value->get<std::string>(), boost));
}

absl::StatusOr<QueryPtr> Parser::ParseConstantScore(const Json& body) {
  const Json* filter = Find(body, "filter");
  if (filter == nullptr) {
    return Error("[constant_score] requires a 'filter' element", "constant_score");
  }
  ESGW_ASSIGN_OR_RETURN(QueryPtr inner, Parse(*filter));
  return QueryPtr(std::make_unique<ConstantScore>(std::move(inner), BoostOf(body)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Query>> ParseQuery(const Json& query, absl::string_view body) {
  Parser parser(body);
  return parser.Parse(query);
}

std::unique_ptr<Query> MatchAllQuery() { return std::make_unique<MatchAll>(1.0); }

}  // namespace esgw::devcluster
