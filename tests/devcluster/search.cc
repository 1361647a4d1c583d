#include "tests/devcluster/search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "pool/status_macros.h"
#include "tests/devcluster/es_error.h"

namespace esgw::devcluster {
namespace {

constexpr int64_t kMaxResultWindow = 10000;

std::string TokenName(const Json& value) {
  if (value.is_object()) return "START_OBJECT";
  if (value.is_array()) return "START_ARRAY";
  if (value.is_string()) return "VALUE_STRING";
  if (value.is_number()) return "VALUE_NUMBER";
  if (value.is_boolean()) return "VALUE_BOOLEAN";
  return "VALUE_NULL";
}

absl::Status ParsingAt(absl::string_view body, absl::string_view reason, absl::string_view key) {
  auto [line, column] = LocateKey(body, key);
  return ToStatus(ParsingError(reason, line, column));
}

bool ParseBoolParam(absl::string_view value, bool fallback) {
  if (value.empty() || value == "true") return true;
  if (value == "false") return false;
  return fallback;
}

absl::Status ParseSortEntry(const Json& entry, absl::string_view body, std::vector<SortSpec>* out) {
  SortSpec spec;
  if (entry.is_string()) {
    spec.field = entry.get<std::string>();
    spec.descending = spec.field == "_score";
    out->push_back(std::move(spec));
    return absl::OkStatus();
  }
  if (!entry.is_object() || entry.size() != 1) {
    return ParsingAt(body, "[sort] malformed sort entry", "sort");
  }
  auto it = entry.begin();
  spec.field = it.key();
  spec.descending = spec.field == "_score";
  const Json& value = it.value();
  if (value.is_string()) {
    std::string order = value.get<std::string>();
    if (order != "asc" && order != "desc") {
      return ToStatus(IllegalArgument(absl::StrCat("Unknown SortOrder [", order, "]")));
    }
    spec.descending = order == "desc";
  } else if (value.is_object()) {
    for (const auto& [key, option] : value.items()) {
      if (key == "order") {
        std::string order = option.is_string() ? option.get<std::string>() : "";
        if (order != "asc" && order != "desc") {
          return ToStatus(IllegalArgument(absl::StrCat("Unknown SortOrder [", order, "]")));
        }
        spec.descending = order == "desc";
      } else if (key == "missing") {
        spec.missing_first = option.is_string() && option.get<std::string>() == "_first";
      } else if (key == "unmapped_type") {
        if (option.is_string()) spec.unmapped_type = option.get<std::string>();
      } else if (key == "mode" || key == "format" || key == "numeric_type") {
        continue;
      } else {
        return ParsingAt(body, absl::StrCat("[field_sort] unknown field [", key, "]"), key);
      }
    }
  } else {
    return ParsingAt(body, "[sort] malformed sort entry", spec.field);
  }
  out->push_back(std::move(spec));
  return absl::OkStatus();
}

absl::Status ParseSort(const Json& sort, absl::string_view body, std::vector<SortSpec>* out) {
  if (sort.is_array()) {
    for (const Json& entry : sort) ESGW_RETURN_IF_ERROR(ParseSortEntry(entry, body, out));
    return absl::OkStatus();
  }
  return ParseSortEntry(sort, body, out);
}

void ParseSortParam(absl::string_view value, std::vector<SortSpec>* out) {
  out->clear();
  for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
    SortSpec spec;
    std::size_t colon = part.rfind(':');
    spec.field = std::string(part.substr(0, colon));
    spec.descending = spec.field == "_score";
    if (colon != absl::string_view::npos) spec.descending = part.substr(colon + 1) == "desc";
    out->push_back(std::move(spec));
  }
}

absl::Status ParseSourceSpec(const Json& value, absl::string_view body, SourceFilter* filter) {
  *filter = SourceFilter();
  if (value.is_boolean()) {
    filter->enabled = value.get<bool>();
  } else if (value.is_string()) {
    filter->includes.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const Json& item : value) {
      if (item.is_string()) filter->includes.push_back(item.get<std::string>());
    }
  } else if (value.is_object()) {
    for (const auto& [key, list] : value.items()) {
      std::vector<std::string>* target = nullptr;
      if (key == "includes" || key == "include") {
        target = &filter->includes;
      } else if (key == "excludes" || key == "exclude") {
        target = &filter->excludes;
      } else {
        return ParsingAt(
            body, absl::StrCat("Unknown key for a ", TokenName(list), " in [", key, "]."), key);
      }
      if (list.is_string()) target->push_back(list.get<std::string>());
      if (list.is_array()) {
        for (const Json& item : list) {
          if (item.is_string()) target->push_back(item.get<std::string>());
        }
      }
    }
  } else {
    return ParsingAt(body, "[_source] malformed", "_source");
  }
  return absl::OkStatus();
}

absl::Status ParseAggs(const Json& aggs, absl::string_view body, std::vector<AggSpec>* out) {
  if (!aggs.is_object()) return ParsingAt(body, "Aggregation definition must be an object", "aggs");
  for (const auto& [name, definition] : aggs.items()) {
    if (!definition.is_object()) {
      return ParsingAt(body,
                       absl::StrCat("Expected [START_OBJECT] under [", name, "], but got a [",
                                    TokenName(definition), "] in [", name, "]"),
                       name);
    }
    AggSpec spec;
    spec.name = name;
    for (const auto& [key, value] : definition.items()) {
      if (key == "aggs" || key == "aggregations") {
        ESGW_RETURN_IF_ERROR(ParseAggs(value, body, &spec.subs));
        continue;
      }
      if (key == "meta") continue;
      if (!spec.type.empty()) {
        return ParsingAt(body,
                         absl::StrCat("Found two aggregation type definitions in [", name, "]: [",
                                      spec.type, "] and [", key, "]"),
                         key);
      }
      static const absl::flat_hash_set<std::string>* const kTypes =
          new absl::flat_hash_set<std::string>{"terms", "min",         "max",        "avg",
                                               "sum",   "value_count", "cardinality"};
      if (!kTypes->contains(key)) {
        return ParsingAt(body, absl::StrCat("Unknown aggregation type [", key, "]"), key);
      }
      spec.type = key;
      std::optional<std::string> field = GetString(value, "field");
      if (!field.has_value()) {
        return ToStatus(IllegalArgument(
            absl::StrCat("Required one of fields [field, script], but none were specified. ")));
      }
      spec.field = *field;
      if (std::optional<int64_t> size = GetInt(value, "size")) spec.size = static_cast<int>(*size);
      if (std::optional<int64_t> min = GetInt(value, "min_doc_count")) spec.min_doc_count = *min;
      if (const Json* missing = Find(value, "missing")) spec.missing = *missing;
      if (const Json* order = Find(value, "order");
          order != nullptr && order->is_object() && !order->empty()) {
        spec.order_by_key = order->begin().key() == "_key";
        spec.order_ascending = order->begin().value() == "asc";
      }
    }
    if (spec.type.empty()) {
      return ParsingAt(body, absl::StrCat("Missing definition for aggregation [", name, "]"), name);
    }
    out->push_back(std::move(spec));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Query>> QueryFromQParam(absl::string_view q) {
  if (q == "*" || q == "*:*") return MatchAllQuery();
  std::size_t colon = q.find(':');
  if (colon == absl::string_view::npos) {
    return ToStatus(IllegalArgument(
        "esgw-devcluster supports only q=<field>:<value> and q=* in the q parameter"));
  }
  Json query = {{"match", {{std::string(q.substr(0, colon)), std::string(q.substr(colon + 1))}}}};
  return ParseQuery(query, "");
}

absl::StatusOr<Json> ParseBody(absl::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == absl::string_view::npos) return Json::object();
  std::optional<Json> json = ParseJson(body);
  if (!json.has_value()) return ToStatus(XContentParseError(body));
  if (!json->is_object()) {
    return ToStatus(
        ParsingError("Expected [START_OBJECT] but found [" + TokenName(*json) + "]", 1, 1));
  }
  return *json;
}

// ---------------------------------------------------------------------------------------------
// Execution.

struct Hit {
  const IndexData* index;
  const Document* doc;
  int index_position;
  double score;
  std::vector<std::optional<FieldValue>> keys;  // one per sort spec; nullopt = missing
};

struct DocRef {
  const IndexData* index;
  const Document* doc;
};

EsError TextFieldError(absl::string_view field, absl::string_view index) {
  return IllegalArgument(absl::StrCat(
      "Fielddata is disabled on [", field, "] in [", index,
      "]. Text fields cannot be used for sorting or aggregations; use a keyword field instead."));
}

EsError NoMappingForSort(absl::string_view field) {
  EsError error;
  error.status = 400;
  error.type = "query_shard_exception";
  error.reason = absl::StrCat("No mapping found for [", field, "] in order to sort on");
  return error;
}

FieldType UnmappedType(const std::string& type) {
  if (type == "long" || type == "integer") return FieldType::kLong;
  if (type == "double" || type == "float") return FieldType::kDouble;
  if (type == "date") return FieldType::kDate;
  if (type == "boolean") return FieldType::kBoolean;
  return FieldType::kKeyword;
}

// Validates sort fields and aggregation fields against the mappings of the searched indices.
absl::Status ValidateFields(const std::vector<const IndexData*>& indices,
                            const SearchRequest& request, absl::string_view node_id) {
  for (const SortSpec& spec : request.sort) {
    if (spec.field == "_score" || spec.field == "_doc") continue;
    bool mapped_somewhere = false;
    for (const IndexData* index : indices) {
      std::optional<ResolvedField> field = index->mapping.Resolve(spec.field);
      if (!field.has_value()) continue;
      mapped_somewhere = true;
      if (field->type == FieldType::kText) {
        return ToStatus(
            SearchPhaseFailure(TextFieldError(spec.field, index->name), index->name, node_id));
      }
    }
    if (!mapped_somewhere && !spec.unmapped_type.has_value() && !indices.empty()) {
      return ToStatus(
          SearchPhaseFailure(NoMappingForSort(spec.field), indices.front()->name, node_id));
    }
  }
  std::vector<const AggSpec*> pending;
  for (const AggSpec& agg : request.aggs) pending.push_back(&agg);
  while (!pending.empty()) {
    const AggSpec* agg = pending.back();
    pending.pop_back();
    for (const AggSpec& sub : agg->subs) pending.push_back(&sub);
    if (agg->type == "value_count" || agg->type == "cardinality") continue;
    for (const IndexData* index : indices) {
      std::optional<ResolvedField> field = index->mapping.Resolve(agg->field);
      if (field.has_value() && field->type == FieldType::kText) {
        return ToStatus(
            SearchPhaseFailure(TextFieldError(agg->field, index->name), index->name, node_id));
      }
    }
  }
  return absl::OkStatus();
}

std::optional<ResolvedField> ResolveFor(const IndexData& index, const std::string& field,
                                        const std::optional<std::string>& unmapped_type) {
  std::optional<ResolvedField> resolved = index.mapping.Resolve(field);
  if (!resolved.has_value() && unmapped_type.has_value()) {
    resolved = ResolvedField{field, UnmappedType(*unmapped_type)};
  }
  return resolved;
}

Json MissingSortValue(const SortSpec& spec, const IndexData& index) {
  std::optional<ResolvedField> field = ResolveFor(index, spec.field, spec.unmapped_type);
  FieldType type = field.has_value() ? field->type : FieldType::kKeyword;
  bool high = spec.descending == spec.missing_first;  // missing sorts last by default
  switch (type) {
    case FieldType::kLong:
    case FieldType::kDate:
    case FieldType::kBoolean:
      return high ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
    case FieldType::kDouble:
      return high ? "Infinity" : "-Infinity";
    default:
      return nullptr;
  }
}

Json SortValueJson(const std::optional<FieldValue>& key, const SortSpec& spec, const Hit& hit) {
  if (spec.field == "_score") return hit.score;
  if (spec.field == "_doc") return hit.doc->seq_no;
  if (!key.has_value()) return MissingSortValue(spec, *hit.index);
  if (key->kind == FieldValue::Kind::kBool) return key->flag ? 1 : 0;
  return key->ToJson();
}

int CompareJsonScalars(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const std::string& x = a.get_ref<const std::string&>();
    const std::string& y = b.get_ref<const std::string&>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_null() != b.is_null()) return a.is_null() ? 1 : -1;
  return 0;
}

void SetMetricValue(double value, bool present, FieldType type, const std::string& agg_type,
                    Json* out) {
  if (!present) {
    (*out)["value"] = agg_type == "sum" ? Json(0.0) : Json(nullptr);
    return;
  }
  (*out)["value"] = value;
  if (type == FieldType::kDate && (agg_type == "min" || agg_type == "max")) {
    (*out)["value_as_string"] = FormatDateMillis(static_cast<int64_t>(value));
  }
}

std::string TypedKeyPrefix(const AggSpec& agg, FieldType type) {
  if (agg.type != "terms") return agg.type;
  switch (type) {
    case FieldType::kLong:
    case FieldType::kDate:
    case FieldType::kBoolean:
      return "lterms";
    case FieldType::kDouble:
      return "dterms";
    default:
      return "sterms";
  }
}

Json RunAggs(const std::vector<AggSpec>& aggs, const std::vector<DocRef>& docs, bool typed_keys);

Json RunAgg(const AggSpec& agg, const std::vector<DocRef>& docs, bool typed_keys,
            FieldType* field_type) {
  // Field type from the first index that maps the field.
  *field_type = FieldType::kKeyword;
  absl::flat_hash_map<const IndexData*, std::optional<ResolvedField>> resolved;
  bool typed = false;
  for (const DocRef& ref : docs) {
    auto [it, inserted] = resolved.try_emplace(ref.index);
    if (inserted) it->second = ref.index->mapping.Resolve(agg.field);
    if (!typed && it->second.has_value()) {
      *field_type = it->second->type;
      typed = true;
    }
  }
  auto values_of = [&](const DocRef& ref) {
    const std::optional<ResolvedField>& field = resolved[ref.index];
    std::vector<FieldValue> values;
    if (field.has_value()) values = ExtractValues(ref.doc->parsed, *field);
    if (values.empty() && agg.missing.has_value()) {
      std::optional<FieldValue> missing = ConvertQueryValue(*agg.missing, *field_type);
      if (missing.has_value()) values.push_back(*missing);
    }
    return values;
  };

  Json out = Json::object();
  if (agg.type == "terms") {
    struct Bucket {
      FieldValue key;
      int64_t count = 0;
      std::vector<DocRef> docs;
    };
    std::map<std::string, Bucket> buckets;  // keyed by a canonical form of the value
    for (const DocRef& ref : docs) {
      absl::flat_hash_set<std::string> seen;
      for (const FieldValue& value : values_of(ref)) {
        std::string canonical = Dump(value.ToJson());
        if (!seen.insert(canonical).second) continue;
        Bucket& bucket = buckets[canonical];
        bucket.key = value;
        ++bucket.count;
        if (!agg.subs.empty()) bucket.docs.push_back(ref);
      }
    }
    std::vector<Bucket*> ordered;
    int64_t total = 0;
    for (auto& [canonical, bucket] : buckets) {
      if (bucket.count < agg.min_doc_count) continue;
      total += bucket.count;
      ordered.push_back(&bucket);
    }
    std::sort(ordered.begin(), ordered.end(), [&](const Bucket* a, const Bucket* b) {
      int by_key = CompareValues(a->key, b->key);
      if (agg.order_by_key) return agg.order_ascending ? by_key < 0 : by_key > 0;
      if (a->count != b->count) {
        return agg.order_ascending ? a->count < b->count : a->count > b->count;
      }
      return by_key < 0;
    });
    if (static_cast<int>(ordered.size()) > agg.size && agg.size >= 0) ordered.resize(agg.size);
    int64_t shown = 0;
    Json bucket_list = Json::array();
    for (Bucket* bucket : ordered) {
      shown += bucket->count;
      Json entry = Json::object();
      if (bucket->key.kind == FieldValue::Kind::kBool) {
        entry["key"] = bucket->key.flag ? 1 : 0;
        entry["key_as_string"] = bucket->key.flag ? "true" : "false";
      } else {
        entry["key"] = bucket->key.ToJson();
        if (*field_type == FieldType::kDate) {
          entry["key_as_string"] = FormatDateMillis(static_cast<int64_t>(bucket->key.number));
        }
      }
      entry["doc_count"] = bucket->count;
      if (!agg.subs.empty()) {
        Json subs = RunAggs(agg.subs, bucket->docs, typed_keys);
        for (auto& [name, value] : subs.items()) entry[name] = std::move(value);
      }
      bucket_list.push_back(std::move(entry));
    }
    out["doc_count_error_upper_bound"] = 0;
    out["sum_other_doc_count"] = total - shown;
    out["buckets"] = std::move(bucket_list);
    return out;
  }

  if (agg.type == "value_count" || agg.type == "cardinality") {
    int64_t count = 0;
    absl::flat_hash_set<std::string> distinct;
    for (const DocRef& ref : docs) {
      std::vector<FieldValue> values = values_of(ref);
      if (agg.type == "value_count" && *field_type == FieldType::kText) {
        // Text fields have no doc values; count raw values instead of tokens.
        std::vector<const Json*> raw;
        if (resolved[ref.index].has_value()) {
          CollectRawValues(ref.doc->parsed, resolved[ref.index]->source_path, &raw);
        }
        count += static_cast<int64_t>(raw.size());
        continue;
      }
      count += static_cast<int64_t>(values.size());
      for (const FieldValue& value : values) distinct.insert(Dump(value.ToJson()));
    }
    out["value"] = agg.type == "value_count" ? count : static_cast<int64_t>(distinct.size());
    return out;
  }

  // min, max, avg, sum over numeric values.
  double accumulator = agg.type == "min"   ? std::numeric_limits<double>::infinity()
                       : agg.type == "max" ? -std::numeric_limits<double>::infinity()
                                           : 0.0;
  int64_t count = 0;
  for (const DocRef& ref : docs) {
    for (const FieldValue& value : values_of(ref)) {
      double number = value.kind == FieldValue::Kind::kNumber ? value.number
                      : value.kind == FieldValue::Kind::kBool ? (value.flag ? 1 : 0)
                                                              : std::nan("");
      if (std::isnan(number)) continue;
      ++count;
      if (agg.type == "min") {
        accumulator = std::min(accumulator, number);
      } else if (agg.type == "max") {
        accumulator = std::max(accumulator, number);
      } else {
        accumulator += number;
      }
    }
  }
  if (agg.type == "avg" && count > 0) accumulator /= static_cast<double>(count);
  SetMetricValue(accumulator, count > 0, *field_type, agg.type, &out);
  return out;
}

Json RunAggs(const std::vector<AggSpec>& aggs, const std::vector<DocRef>& docs, bool typed_keys) {
  Json out = Json::object();
  for (const AggSpec& agg : aggs) {
    FieldType type = FieldType::kKeyword;
    Json result = RunAgg(agg, docs, typed_keys, &type);
    std::string name =
        typed_keys ? absl::StrCat(TypedKeyPrefix(agg, type), "#", agg.name) : agg.name;
    out[name] = std::move(result);
  }
  return out;
}

void FilterInto(const Json& node, const std::string& path, const SourceFilter& filter,
                bool included, Json* out, bool* keep);

bool MatchesAny(const std::vector<std::string>& patterns, const std::string& path) {
  for (const std::string& pattern : patterns) {
    if (GlobMatch(pattern, path)) return true;
  }
  return false;
}

// Could a descendant of `path` be matched by an include pattern?
bool MayIncludeBelow(const std::vector<std::string>& patterns, const std::string& path) {
  for (const std::string& pattern : patterns) {
    if (absl::StartsWith(pattern, path + ".") || absl::StartsWith(pattern, "*")) return true;
    std::size_t star = pattern.find('*');
    if (star != std::string::npos && absl::StartsWith(path, pattern.substr(0, star))) return true;
  }
  return false;
}

Json FilterObject(const Json& object, const std::string& prefix, const SourceFilter& filter,
                  bool included) {
  Json out = Json::object();
  for (const auto& [key, value] : object.items()) {
    std::string path = prefix.empty() ? key : prefix + "." + key;
    if (MatchesAny(filter.excludes, path)) continue;
    bool now_included = included || filter.includes.empty() || MatchesAny(filter.includes, path);
    Json filtered;
    bool keep = false;
    FilterInto(value, path, filter, now_included, &filtered, &keep);
    if (keep) out[key] = std::move(filtered);
  }
  return out;
}

void FilterInto(const Json& node, const std::string& path, const SourceFilter& filter,
                bool included, Json* out, bool* keep) {
  if (node.is_object()) {
    if (!included && !MayIncludeBelow(filter.includes, path)) return;
    *out = FilterObject(node, path, filter, included);
    *keep = included || !out->empty();
    return;
  }
  if (node.is_array()) {
    Json list = Json::array();
    for (const Json& element : node) {
      Json filtered;
      bool element_keep = false;
      FilterInto(element, path, filter, included, &filtered, &element_keep);
      if (element_keep) list.push_back(std::move(filtered));
    }
    *keep = included || !list.empty();
    *out = std::move(list);
    return;
  }
  if (included) {
    *out = node;
    *keep = true;
  }
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative '*' matching with backtracking to the last star.
  std::size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Json FilterSource(const Json& source, const SourceFilter& filter) {
  if (!source.is_object()) return source;
  return FilterObject(source, "", filter, false);
}

absl::StatusOr<SearchRequest> ParseSearchRequest(absl::string_view body, const ParamMap& params) {
  ESGW_ASSIGN_OR_RETURN(Json json, ParseBody(body));
  SearchRequest request;
  for (const auto& [key, value] : json.items()) {
    if (key == "query") {
      ESGW_ASSIGN_OR_RETURN(request.query, ParseQuery(value, body));
    } else if (key == "post_filter") {
      ESGW_ASSIGN_OR_RETURN(request.post_filter, ParseQuery(value, body));
    } else if (key == "from" || key == "size") {
      if (!value.is_number_integer()) {
        return ParsingAt(body, absl::StrCat("[", key, "] must be an integer"), key);
      }
      (key == "from" ? request.from : request.size) = value.get<int64_t>();
    } else if (key == "sort") {
      ESGW_RETURN_IF_ERROR(ParseSort(value, body, &request.sort));
    } else if (key == "_source") {
      ESGW_RETURN_IF_ERROR(ParseSourceSpec(value, body, &request.source));
    } else if (key == "track_total_hits") {
      if (value.is_boolean()) {
        request.track_total_hits = value.get<bool>() ? std::numeric_limits<int64_t>::max() : -1;
      } else if (value.is_number_integer()) {
        request.track_total_hits = value.get<int64_t>();
      } else {
        return ParsingAt(body, "[track_total_hits] must be a boolean or an integer", key);
      }
    } else if (key == "track_scores") {
      request.track_scores = value.is_boolean() && value.get<bool>();
    } else if (key == "version") {
      request.version = value.is_boolean() && value.get<bool>();
    } else if (key == "seq_no_primary_term") {
      request.seq_no_primary_term = value.is_boolean() && value.get<bool>();
    } else if (key == "aggs" || key == "aggregations") {
      ESGW_RETURN_IF_ERROR(ParseAggs(value, body, &request.aggs));
    } else if (key == "search_after") {
      if (!value.is_array()) return ParsingAt(body, "[search_after] must be an array", key);
      request.search_after = value;
    } else if (key == "timeout" || key == "terminate_after" || key == "stored_fields" ||
               key == "docvalue_fields" || key == "fields" || key == "highlight" ||
               key == "explain" || key == "profile" || key == "stats" || key == "min_score" ||
               key == "ext" || key == "runtime_mappings" || key == "indices_boost") {
      continue;  // accepted, no effect here
    } else {
      return ParsingAt(
          body, absl::StrCat("Unknown key for a ", TokenName(value), " in [", key, "]."), key);
    }
  }
  // URL parameters win over the body, as in Elasticsearch.
  auto param = [&](const char* name) -> const std::string* {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  };
  if (const std::string* q = param("q")) {
    ESGW_ASSIGN_OR_RETURN(request.query, QueryFromQParam(*q));
  }
  for (const char* name : {"size", "from"}) {
    if (const std::string* text = param(name)) {
      int64_t number = 0;
      if (!absl::SimpleAtoi(*text, &number)) {
        return ToStatus(IllegalArgument(
            absl::StrCat("Failed to parse int parameter [", name, "] with value [", *text, "]")));
      }
      (std::string(name) == "size" ? request.size : request.from) = number;
    }
  }
  if (const std::string* sort = param("sort")) ParseSortParam(*sort, &request.sort);
  if (const std::string* source = param("_source")) {
    request.source = SourceFilter();
    if (*source == "false") {
      request.source.enabled = false;
    } else if (*source != "true") {
      request.source.includes = absl::StrSplit(*source, ',', absl::SkipEmpty());
    }
  }
  if (const std::string* includes = param("_source_includes")) {
    request.source.includes = absl::StrSplit(*includes, ',', absl::SkipEmpty());
  }
  if (const std::string* excludes = param("_source_excludes")) {
    request.source.excludes = absl::StrSplit(*excludes, ',', absl::SkipEmpty());
  }
  if (const std::string* track = param("track_total_hits")) {
    int64_t number = 0;
    if (absl::SimpleAtoi(*track, &number)) {
      request.track_total_hits = number;
    } else {
      request.track_total_hits =
          ParseBoolParam(*track, true) ? std::numeric_limits<int64_t>::max() : -1;
    }
  }
  if (const std::string* v = param("track_scores"))
    request.track_scores = ParseBoolParam(*v, false);
  if (const std::string* v = param("version")) request.version = ParseBoolParam(*v, false);
  if (const std::string* v = param("seq_no_primary_term")) {
    request.seq_no_primary_term = ParseBoolParam(*v, false);
  }
  if (const std::string* v = param("typed_keys")) request.typed_keys = ParseBoolParam(*v, false);
  if (const std::string* v = param("rest_total_hits_as_int")) {
    request.rest_total_hits_as_int = ParseBoolParam(*v, false);
  }
  if (request.size < 0) {
    return ToStatus(IllegalArgument(
        absl::StrCat("[size] parameter cannot be negative, found [", request.size, "]")));
  }
  if (request.from < 0) {
    return ToStatus(IllegalArgument(
        absl::StrCat("[from] parameter cannot be negative, found [", request.from, "]")));
  }
  if (request.from + request.size > kMaxResultWindow) {
    EsError window = IllegalArgument(
        absl::StrCat("Result window is too large, from + size must be less than or equal to: [",
                     kMaxResultWindow, "] but was [", request.from + request.size,
                     "]. Use search_after or scroll to page through large result sets."));
    return ToStatus(SearchPhaseFailure(window, "", ""));
  }
  return request;
}

absl::StatusOr<std::unique_ptr<Query>> ParseCountRequest(absl::string_view body,
                                                         const ParamMap& params) {
  ESGW_ASSIGN_OR_RETURN(Json json, ParseBody(body));
  std::unique_ptr<Query> query;
  for (const auto& [key, value] : json.items()) {
    if (key != "query") {
      return ParsingAt(body, absl::StrCat("request does not support [", key, "]"), key);
    }
    ESGW_ASSIGN_OR_RETURN(query, ParseQuery(value, body));
  }
  if (auto it = params.find("q"); it != params.end()) {
    ESGW_ASSIGN_OR_RETURN(query, QueryFromQParam(it->second));
  }
  return query;
}

int64_t CountMatches(const std::vector<const IndexData*>& indices, const Query* query) {
  int64_t count = 0;
  for (const IndexData* index : indices) {
    if (query == nullptr) {
      count += index->live_docs;
      continue;
    }
    for (const auto& [id, doc] : index->docs) {
      if (doc.deleted) continue;
      if (query->Evaluate(DocView{doc.parsed, doc.id, index->mapping}).has_value()) ++count;
    }
  }
  return count;
}

absl::StatusOr<std::string> ExecuteSearch(const std::vector<const IndexData*>& indices,
                                          const SearchRequest& request, absl::string_view node_id,
                                          absl::Time start) {
  ESGW_RETURN_IF_ERROR(ValidateFields(indices, request, node_id));

  std::vector<Hit> hits;
  std::vector<DocRef> agg_docs;
  for (int position = 0; position < static_cast<int>(indices.size()); ++position) {
    const IndexData* index = indices[position];
    for (const auto& [id, doc] : index->docs) {
      if (doc.deleted) continue;
      DocView view{doc.parsed, doc.id, index->mapping};
      std::optional<double> score =
          request.query == nullptr ? std::optional<double>(1.0) : request.query->Evaluate(view);
      if (!score.has_value()) continue;
      if (!request.aggs.empty()) agg_docs.push_back(DocRef{index, &doc});
      if (request.post_filter != nullptr && !request.post_filter->Evaluate(view).has_value()) {
        continue;
      }
      hits.push_back(Hit{index, &doc, position, *score, {}});
    }
  }

  const bool sorted = !request.sort.empty();
  bool scores_tracked = !sorted || request.track_scores;
  for (const SortSpec& spec : request.sort) scores_tracked |= spec.field == "_score";

  // Sort keys.
  for (Hit& hit : hits) {
    for (const SortSpec& spec : request.sort) {
      if (spec.field == "_score") {
        hit.keys.push_back(FieldValue::Number(hit.score, false));
        continue;
      }
      if (spec.field == "_doc") {
        hit.keys.push_back(FieldValue::Number(static_cast<double>(hit.doc->seq_no), true));
        continue;
      }
      std::optional<ResolvedField> field = ResolveFor(*hit.index, spec.field, spec.unmapped_type);
      std::vector<FieldValue> values;
      if (field.has_value()) values = ExtractValues(hit.doc->parsed, *field);
      if (values.empty()) {
        hit.keys.push_back(std::nullopt);
        continue;
      }
      // Multi-valued fields sort by their minimum ascending and maximum descending.
      const FieldValue* chosen = &values[0];
      for (const FieldValue& value : values) {
        int c = CompareValues(value, *chosen);
        if (spec.descending ? c > 0 : c < 0) chosen = &value;
      }
      hit.keys.push_back(*chosen);
    }
  }
  auto tie_break = [](const Hit& a, const Hit& b) {
    if (a.index_position != b.index_position) return a.index_position < b.index_position;
    return a.doc->seq_no < b.doc->seq_no;
  };
  auto less = [&](const Hit& a, const Hit& b) {
    if (!sorted) {
      if (a.score != b.score) return a.score > b.score;
      return tie_break(a, b);
    }
    for (std::size_t i = 0; i < request.sort.size(); ++i) {
      const SortSpec& spec = request.sort[i];
      const std::optional<FieldValue>& x = a.keys[i];
      const std::optional<FieldValue>& y = b.keys[i];
      if (!x.has_value() || !y.has_value()) {
        if (x.has_value() == y.has_value()) continue;
        // Missing values go last unless asked otherwise, whatever the order.
        return spec.missing_first ? !x.has_value() : x.has_value();
      }
      int c = CompareValues(*x, *y);
      if (c != 0) return spec.descending ? c > 0 : c < 0;
    }
    return tie_break(a, b);
  };

  const int64_t total = static_cast<int64_t>(hits.size());
  double max_score = 0;
  for (const Hit& hit : hits) max_score = std::max(max_score, hit.score);

  // search_after drops every hit that does not sort strictly after the given values.
  std::vector<Hit> page_source;
  std::vector<Hit>* candidates = &hits;
  if (request.search_after.has_value() && sorted) {
    std::sort(hits.begin(), hits.end(), less);
    for (Hit& hit : hits) {
      int c = 0;
      for (std::size_t i = 0; i < request.sort.size() && i < request.search_after->size() && c == 0;
           ++i) {
        Json value = SortValueJson(hit.keys[i], request.sort[i], hit);
        c = CompareJsonScalars(value, (*request.search_after)[i]);
        if (request.sort[i].descending) c = -c;
      }
      if (c > 0) page_source.push_back(hit);
    }
    candidates = &page_source;
  }
  const std::size_t begin = static_cast<std::size_t>(
      std::min<int64_t>(request.from, static_cast<int64_t>(candidates->size())));
  const std::size_t end = static_cast<std::size_t>(
      std::min<int64_t>(request.from + request.size, static_cast<int64_t>(candidates->size())));
  if (candidates == &hits) {
    std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(end), hits.end(),
                      less);
  }

  // Render.
  std::string out =
      absl::StrCat("{\"took\":", absl::ToInt64Milliseconds(absl::Now() - start),
                   ",\"timed_out\":false,\"_shards\":{\"total\":", indices.size(),
                   ",\"successful\":", indices.size(), ",\"skipped\":0,\"failed\":0},\"hits\":{");
  if (request.rest_total_hits_as_int) {
    absl::StrAppend(&out, "\"total\":", request.track_total_hits < 0 ? -1 : total, ",");
  } else if (request.track_total_hits >= 0) {
    bool capped = total > request.track_total_hits;
    absl::StrAppend(&out, "\"total\":{\"value\":", capped ? request.track_total_hits : total,
                    ",\"relation\":\"", capped ? "gte" : "eq", "\"},");
  }
  absl::StrAppend(
      &out, "\"max_score\":",
      // With size 0 Elasticsearch collects no scores at all.
      (scores_tracked && total > 0 && request.size > 0) ? Dump(Json(max_score)) : "null",
      ",\"hits\":[");
  for (std::size_t i = begin; i < end; ++i) {
    const Hit& hit = (*candidates)[i];
    if (i > begin) out.push_back(',');
    absl::StrAppend(&out, "{\"_index\":", Dump(Json(hit.index->name)),
                    ",\"_id\":", Dump(Json(hit.doc->id)));
    if (request.version) absl::StrAppend(&out, ",\"_version\":", hit.doc->version);
    if (request.seq_no_primary_term) {
      absl::StrAppend(&out, ",\"_seq_no\":", hit.doc->seq_no,
                      ",\"_primary_term\":", hit.doc->primary_term);
    }
    absl::StrAppend(&out, ",\"_score\":", scores_tracked ? Dump(Json(hit.score)) : "null");
    if (!hit.doc->routing.empty()) {
      absl::StrAppend(&out, ",\"_routing\":", Dump(Json(hit.doc->routing)));
    }
    if (request.source.enabled) {
      absl::StrAppend(&out, ",\"_source\":",
                      request.source.filtering()
                          ? Dump(FilterSource(hit.doc->parsed, request.source))
                          : hit.doc->source);
    }
    if (sorted) {
      Json values = Json::array();
      for (std::size_t k = 0; k < request.sort.size(); ++k) {
        values.push_back(SortValueJson(hit.keys[k], request.sort[k], hit));
      }
      absl::StrAppend(&out, ",\"sort\":", Dump(values));
    }
    out.push_back('}');
  }
  out.append("]}");
  if (!request.aggs.empty()) {
    absl::StrAppend(
        &out, ",\"aggregations\":", Dump(RunAggs(request.aggs, agg_docs, request.typed_keys)));
  }
  out.push_back('}');
  return out;
}

}  // namespace esgw::devcluster
