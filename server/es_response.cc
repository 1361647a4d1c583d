#include "server/es_response.h"

#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pool/error_info.h"
#include "pool/status_macros.h"

namespace esgw {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

constexpr std::string_view kRejectedType = "es_rejected_execution_exception";

// Bodies up to this size are parsed by the thread's reusable parser, whose buffers grow to the
// largest body it has seen; larger ones get a parser of their own so no thread keeps megabytes.
constexpr size_t kMaxRetainedCapacity = 1 << 20;

od::parser& ThreadParser() {
  thread_local od::parser parser;
  return parser;
}

// Where in the document the parser is, e.g. hits.hits[3]._id. Built on the stack as the parser
// descends and rendered only when something is wrong, so the happy path pays nothing for it.
// Keys point into the parser's string buffer, which lives as long as the document.
class Path {
 public:
  Path() = default;
  Path(const Path& parent, std::string_view key) : parent_(&parent), key_(key) {}
  Path(const Path& parent, size_t index) : parent_(&parent), index_(index), is_index_(true) {}

  std::string ToString() const {
    if (parent_ == nullptr) return "";
    std::string out = parent_->ToString();
    if (is_index_) {
      absl::StrAppend(&out, "[", index_, "]");
    } else {
      if (!out.empty()) out.push_back('.');
      out.append(key_.data(), key_.size());
    }
    return out;
  }

 private:
  const Path* parent_ = nullptr;
  std::string_view key_;
  size_t index_ = 0;
  bool is_index_ = false;
};

absl::Status Bad(const Path& path, absl::string_view problem) {
  const std::string where = path.ToString();
  return WithErrorInfo(
      absl::InternalError(absl::StrCat(
          "elasticsearch response: ", where.empty() ? "top level" : where, ": ", problem)),
      {"BAD_ES_RESPONSE", {{"path", where}}});
}

// A simdjson error while reading a value that should have been `expected`.
absl::Status Bad(const Path& path, error_code error, absl::string_view expected) {
  switch (error) {
    case simdjson::INCORRECT_TYPE:
      return Bad(path, absl::StrCat("expected ", expected));
    case simdjson::NUMBER_OUT_OF_RANGE:
    case simdjson::NUMBER_ERROR:
      return Bad(path,
                 absl::StrCat("expected ", expected, ", got a malformed or out-of-range number"));
    case simdjson::STRING_ERROR:
      return Bad(path, absl::StrCat("expected ", expected, ", got a malformed string escape"));
    default:
      return Bad(path, absl::StrCat("malformed JSON (", simdjson::error_message(error), ")"));
  }
}

std::string_view TrimTrailingJsonWhitespace(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// ---- Scalars. Each returns OK or BAD_ES_RESPONSE naming path. ----

absl::Status ReadString(od::value value, const Path& path, std::string* out) {
  std::string_view text;
  if (const error_code error = value.get_string().get(text)) return Bad(path, error, "a string");
  out->assign(text.data(), text.size());
  return absl::OkStatus();
}

// A string, or null (left as the empty string).
absl::Status ReadNullableString(od::value value, const Path& path, std::string* out) {
  std::string_view text;
  const error_code error = value.get_string().get(text);
  if (error == simdjson::SUCCESS) {
    out->assign(text.data(), text.size());
    return absl::OkStatus();
  }
  bool is_null = false;
  if (error == simdjson::INCORRECT_TYPE && value.is_null().get(is_null) == simdjson::SUCCESS &&
      is_null) {
    out->clear();
    return absl::OkStatus();
  }
  return Bad(path, error, "a string or null");
}

absl::Status ReadInt64(od::value value, const Path& path, int64_t* out) {
  if (const error_code error = value.get_int64().get(*out)) return Bad(path, error, "an integer");
  return absl::OkStatus();
}

absl::Status ReadInt32(od::value value, const Path& path, int32_t* out) {
  int64_t wide = 0;
  if (const error_code error = value.get_int64().get(wide)) return Bad(path, error, "an integer");
  if (wide < std::numeric_limits<int32_t>::min() || wide > std::numeric_limits<int32_t>::max()) {
    return Bad(path, "expected a 32-bit integer, got a number out of range");
  }
  *out = static_cast<int32_t>(wide);
  return absl::OkStatus();
}

absl::Status ReadBool(od::value value, const Path& path, bool* out) {
  if (const error_code error = value.get_bool().get(*out)) return Bad(path, error, "a boolean");
  return absl::OkStatus();
}

// A number, or null (*out left empty): _score and max_score are null when not computed.
absl::Status ReadOptionalDouble(od::value value, const Path& path, std::optional<double>* out) {
  double number = 0;
  const error_code error = value.get_double().get(number);
  if (error == simdjson::SUCCESS) {
    *out = number;
    return absl::OkStatus();
  }
  bool is_null = false;
  if (error == simdjson::INCORRECT_TYPE && value.is_null().get(is_null) == simdjson::SUCCESS &&
      is_null) {
    out->reset();
    return absl::OkStatus();
  }
  return Bad(path, error, "a number or null");
}

// The exact bytes of any JSON value (null reads as ""), without re-serialising: what the node
// sent is what the client gets.
absl::Status ReadRaw(od::value value, const Path& path, std::string* out) {
  od::json_type type;
  if (const error_code error = value.type().get(type)) return Bad(path, error, "a JSON value");
  std::string_view raw;
  error_code error = simdjson::SUCCESS;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      error = value.get_object().get(object);
      if (error == simdjson::SUCCESS) error = object.raw_json().get(raw);
      break;
    }
    case od::json_type::array: {
      od::array array;
      error = value.get_array().get(array);
      if (error == simdjson::SUCCESS) error = array.raw_json().get(raw);
      break;
    }
    case od::json_type::null:
      out->clear();
      return absl::OkStatus();
    default:
      raw = value.raw_json_token();
      break;
  }
  if (error != simdjson::SUCCESS) return Bad(path, error, "a JSON value");
  // simdjson's raw views run up to the next token, so they include trailing whitespace.
  raw = TrimTrailingJsonWhitespace(raw);
  // simdjson skips a container by counting brackets of either kind, so an object that ends in ']'
  // (or an array in '}') gets here whole: it is not one JSON value.
  if ((type == od::json_type::object && (raw.empty() || raw.back() != '}')) ||
      (type == od::json_type::array && (raw.empty() || raw.back() != ']'))) {
    return Bad(path, "malformed JSON (mismatched brackets)");
  }
  out->assign(raw.data(), raw.size());
  return absl::OkStatus();
}

// ---- Containers. fn returns absl::Status; the first error stops the walk. ----

// fn(std::string_view key, od::value value) for each field of object, in document order.
template <typename Fn>
absl::Status ForEachField(od::object& object, const Path& path, Fn&& fn) {
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (const error_code error = std::move(field_result).get(field)) {
      return Bad(path, error, "an object");
    }
    if (const error_code error = field.unescaped_key().get(key)) {
      return Bad(path, error, "an object key");
    }
    absl::Status status = fn(key, field.value());
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

template <typename Fn>
absl::Status ForEachField(od::value value, const Path& path, Fn&& fn) {
  od::object object;
  if (const error_code error = value.get_object().get(object)) {
    return Bad(path, error, "an object");
  }
  return ForEachField(object, path, std::forward<Fn>(fn));
}

// fn(size_t index, od::value element) for each element of the array value.
template <typename Fn>
absl::Status ForEachElement(od::value value, const Path& path, Fn&& fn) {
  od::array array;
  if (const error_code error = value.get_array().get(array)) {
    return Bad(path, error, "an array");
  }
  size_t index = 0;
  for (auto element_result : array) {
    od::value element;
    if (const error_code error = std::move(element_result).get(element)) {
      return Bad(Path(path, index), error, "an array element");
    }
    absl::Status status = fn(index, element);
    if (!status.ok()) return status;
    ++index;
  }
  return absl::OkStatus();
}

// Iterates the top-level object of body with fn(key, value), then checks nothing follows it.
template <typename Fn>
absl::Status ForEachTopLevelField(simdjson::padded_string_view body, Fn&& fn) {
  od::parser own_parser;
  od::parser& parser = body.size() <= kMaxRetainedCapacity ? ThreadParser() : own_parser;
  od::document document;
  if (const error_code error = parser.iterate(body).get(document)) {
    return Bad(Path(), absl::StrCat("not JSON (", simdjson::error_message(error), ")"));
  }
  od::object root;
  if (const error_code error = document.get_object().get(root)) {
    return Bad(Path(), error, "a JSON object");
  }
  const Path path;
  ESGW_RETURN_IF_ERROR(ForEachField(root, path, std::forward<Fn>(fn)));
  // current_location() fails once every token has been read; if it succeeds, something follows.
  if (document.current_location().error() == simdjson::SUCCESS) {
    return Bad(path, "unexpected content after the top-level object");
  }
  return absl::OkStatus();
}

// ---- Shared pieces. ----

absl::Status ReadShards(od::value value, const Path& path, v1::ShardStats* out) {
  return ForEachField(value, path, [out, &path](std::string_view key, od::value field) {
    const Path at(path, key);
    int32_t count = 0;
    absl::Status status;
    if (key == "total") {
      status = ReadInt32(field, at, &count);
      out->set_total(count);
    } else if (key == "successful") {
      status = ReadInt32(field, at, &count);
      out->set_successful(count);
    } else if (key == "skipped") {
      status = ReadInt32(field, at, &count);
      out->set_skipped(count);
    } else if (key == "failed") {
      status = ReadInt32(field, at, &count);
      out->set_failed(count);
    }
    return status;
  });
}

// {"type":..,"reason":..} inside an error (caused_by, root_cause[i]).
absl::Status ReadCause(od::value value, const Path& path, std::string* type, std::string* reason) {
  return ForEachField(value, path, [&](std::string_view key, od::value field) {
    if (key == "type") return ReadString(field, Path(path, key), type);
    if (key == "reason") return ReadNullableString(field, Path(path, key), reason);
    return absl::OkStatus();
  });
}

// An item-level error: an object {"type","reason","caused_by","root_cause",...}, or a string
// (old Elasticsearch versions). caused_by falls back to the first root cause when that differs
// from the error's own type, like ParseEsError.
absl::Status ReadErrorDetail(od::value value, const Path& path, v1::ErrorDetail* out) {
  od::json_type type;
  if (const error_code error = value.type().get(type)) return Bad(path, error, "an error object");
  if (type == od::json_type::string) return ReadString(value, path, out->mutable_reason());
  std::string root_type;
  std::string root_reason;
  const absl::Status walked = ForEachField(value, path, [&](std::string_view key, od::value field) {
    const Path at(path, key);
    if (key == "type") return ReadString(field, at, out->mutable_type());
    if (key == "reason") return ReadNullableString(field, at, out->mutable_reason());
    if (key == "caused_by") {
      return ReadCause(field, at, out->mutable_caused_by_type(), out->mutable_caused_by_reason());
    }
    if (key == "root_cause") {
      return ForEachElement(field, at, [&](size_t index, od::value cause) {
        if (index > 0) return absl::OkStatus();
        return ReadCause(cause, Path(at, index), &root_type, &root_reason);
      });
    }
    return absl::OkStatus();
  });
  if (!walked.ok()) return walked;
  if (out->caused_by_type().empty() && out->caused_by_reason().empty() && !root_type.empty() &&
      root_type != out->type()) {
    out->set_caused_by_type(std::move(root_type));
    out->set_caused_by_reason(std::move(root_reason));
  }
  return absl::OkStatus();
}

// ---- Search. ----

absl::Status ReadTotalHits(od::value value, const Path& path, v1::SearchResponse* out) {
  od::json_type type;
  if (const error_code error = value.type().get(type)) return Bad(path, error, "total hits");
  if (type == od::json_type::null) return absl::OkStatus();  // Not tracked.
  if (type == od::json_type::number) {
    // rest_total_hits_as_int=true (Elasticsearch 6 style). -1 means not tracked.
    int64_t count = 0;
    ESGW_RETURN_IF_ERROR(ReadInt64(value, path, &count));
    if (count >= 0) {
      out->mutable_total()->set_value(count);
      out->mutable_total()->set_relation(v1::TotalHits::RELATION_EQ);
    }
    return absl::OkStatus();
  }
  v1::TotalHits* total = out->mutable_total();
  return ForEachField(value, path, [total, &path](std::string_view key, od::value field) {
    const Path at(path, key);
    if (key == "value") {
      int64_t count = 0;
      ESGW_RETURN_IF_ERROR(ReadInt64(field, at, &count));
      total->set_value(count);
    } else if (key == "relation") {
      std::string_view relation;
      if (const error_code error = field.get_string().get(relation)) {
        return Bad(at, error, "a string");
      }
      // An unknown relation stays RELATION_UNSPECIFIED rather than failing the search.
      if (relation == "eq") total->set_relation(v1::TotalHits::RELATION_EQ);
      if (relation == "gte") total->set_relation(v1::TotalHits::RELATION_GTE);
    }
    return absl::OkStatus();
  });
}

absl::Status ReadHit(od::value value, const Path& path, v1::Hit* hit) {
  return ForEachField(value, path, [hit, &path](std::string_view key, od::value field) {
    const Path at(path, key);
    if (key == "_source") return ReadRaw(field, at, hit->mutable_source_json());
    if (key == "_id") return ReadString(field, at, hit->mutable_id());
    if (key == "_index") return ReadString(field, at, hit->mutable_index());
    if (key == "_score") {
      std::optional<double> score;
      ESGW_RETURN_IF_ERROR(ReadOptionalDouble(field, at, &score));
      if (score.has_value()) hit->set_score(*score);
      return absl::OkStatus();
    }
    if (key == "sort") return ReadRaw(field, at, hit->mutable_sort_json());
    if (key == "highlight") return ReadRaw(field, at, hit->mutable_highlight_json());
    if (key == "_routing") return ReadString(field, at, hit->mutable_routing());
    if (key == "fields") return ReadRaw(field, at, hit->mutable_fields_json());
    return absl::OkStatus();
  });
}

absl::Status ReadHits(od::value value, const Path& path, v1::SearchResponse* out) {
  return ForEachField(value, path, [out, &path](std::string_view key, od::value field) {
    const Path at(path, key);
    if (key == "hits") {
      return ForEachElement(field, at, [out, &at](size_t index, od::value hit) {
        return ReadHit(hit, Path(at, index), out->add_hits());
      });
    }
    if (key == "total") return ReadTotalHits(field, at, out);
    if (key == "max_score") {
      std::optional<double> max_score;
      ESGW_RETURN_IF_ERROR(ReadOptionalDouble(field, at, &max_score));
      if (max_score.has_value()) out->set_max_score(*max_score);
    }
    return absl::OkStatus();
  });
}

// One top-level field of a search response; shared by _search and each _msearch item.
absl::Status ReadSearchField(std::string_view key, od::value value, const Path& parent,
                             v1::SearchResponse* out) {
  const Path at(parent, key);
  if (key == "hits") return ReadHits(value, at, out);
  if (key == "took") {
    int64_t took = 0;
    ESGW_RETURN_IF_ERROR(ReadInt64(value, at, &took));
    out->set_took_ms(took);
  } else if (key == "timed_out") {
    bool timed_out = false;
    ESGW_RETURN_IF_ERROR(ReadBool(value, at, &timed_out));
    out->set_timed_out(timed_out);
  } else if (key == "_shards") {
    return ReadShards(value, at, out->mutable_shards());
  } else if (key == "aggregations") {
    return ReadRaw(value, at, out->mutable_aggregations_json());
  } else if (key == "_scroll_id" || key == "pit_id") {
    return ReadString(value, at, out->mutable_scroll_id());
  }
  return absl::OkStatus();
}

// ---- Bulk. ----

absl::Status ReadBulkItem(od::value value, const Path& path, BulkItemOutcome* item) {
  v1::BulkItemResult* result = &item->result;
  const absl::Status walked =
      ForEachField(value, path, [result, &path](std::string_view key, od::value field) {
        const Path at(path, key);
        int64_t number = 0;
        if (key == "status") {
          int32_t status = 0;
          ESGW_RETURN_IF_ERROR(ReadInt32(field, at, &status));
          result->set_status(status);
        } else if (key == "_id") {
          // An item that failed before an id was generated may carry "_id": null.
          return ReadNullableString(field, at, result->mutable_id());
        } else if (key == "_index") {
          return ReadNullableString(field, at, result->mutable_index());
        } else if (key == "result") {
          return ReadNullableString(field, at, result->mutable_result());
        } else if (key == "_version") {
          ESGW_RETURN_IF_ERROR(ReadInt64(field, at, &number));
          result->set_version(number);
        } else if (key == "_seq_no") {
          ESGW_RETURN_IF_ERROR(ReadInt64(field, at, &number));
          result->set_seq_no(number);
        } else if (key == "_primary_term") {
          ESGW_RETURN_IF_ERROR(ReadInt64(field, at, &number));
          result->set_primary_term(number);
        } else if (key == "error") {
          return ReadErrorDetail(field, at, result->mutable_error());
        }
        return absl::OkStatus();
      });
  if (!walked.ok()) return walked;
  item->backpressure = result->status() == 429 || result->error().type() == kRejectedType ||
                       result->error().caused_by_type() == kRejectedType;
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseSearchResponse(simdjson::padded_string_view body, v1::SearchResponse* out) {
  out->Clear();
  return ForEachTopLevelField(body, [out](std::string_view key, od::value value) {
    return ReadSearchField(key, value, Path(), out);
  });
}

absl::Status ParseCountResponse(simdjson::padded_string_view body, v1::CountResponse* out) {
  out->Clear();
  bool has_count = false;
  const absl::Status walked =
      ForEachTopLevelField(body, [out, &has_count](std::string_view key, od::value value) {
        const Path root;
        const Path at(root, key);
        if (key == "count") {
          int64_t count = 0;
          ESGW_RETURN_IF_ERROR(ReadInt64(value, at, &count));
          out->set_count(count);
          has_count = true;
        } else if (key == "_shards") {
          return ReadShards(value, at, out->mutable_shards());
        }
        return absl::OkStatus();
      });
  if (!walked.ok()) return walked;
  if (!has_count) return Bad(Path(), "missing \"count\"");
  return absl::OkStatus();
}

absl::Status ParseGetResponse(simdjson::padded_string_view body, v1::GetResponse* out) {
  out->Clear();
  bool has_found = false;
  const absl::Status walked =
      ForEachTopLevelField(body, [out, &has_found](std::string_view key, od::value value) {
        const Path root;
        const Path at(root, key);
        int64_t number = 0;
        if (key == "_source") return ReadRaw(value, at, out->mutable_source_json());
        if (key == "found") {
          bool found = false;
          ESGW_RETURN_IF_ERROR(ReadBool(value, at, &found));
          out->set_found(found);
          has_found = true;
        } else if (key == "_index") {
          return ReadString(value, at, out->mutable_index());
        } else if (key == "_id") {
          return ReadString(value, at, out->mutable_id());
        } else if (key == "_version") {
          ESGW_RETURN_IF_ERROR(ReadInt64(value, at, &number));
          out->set_version(number);
        } else if (key == "_seq_no") {
          ESGW_RETURN_IF_ERROR(ReadInt64(value, at, &number));
          out->set_seq_no(number);
        } else if (key == "_primary_term") {
          ESGW_RETURN_IF_ERROR(ReadInt64(value, at, &number));
          out->set_primary_term(number);
        } else if (key == "_routing") {
          return ReadString(value, at, out->mutable_routing());
        }
        return absl::OkStatus();
      });
  if (!walked.ok()) return walked;
  if (!has_found) return Bad(Path(), "missing \"found\"");
  return absl::OkStatus();
}

absl::Status ParseMultiSearchResponse(simdjson::padded_string_view body,
                                      v1::MultiSearchResponse* out) {
  out->Clear();
  bool has_responses = false;
  const absl::Status walked =
      ForEachTopLevelField(body, [out, &has_responses](std::string_view key, od::value value) {
        const Path root;
        const Path at(root, key);
        if (key == "took") {
          int64_t took = 0;
          ESGW_RETURN_IF_ERROR(ReadInt64(value, at, &took));
          out->set_took_ms(took);
          return absl::OkStatus();
        }
        if (key != "responses") return absl::OkStatus();
        has_responses = true;
        return ForEachElement(value, at, [out, &at](size_t index, od::value response) {
          v1::MultiSearchItem* item = out->add_responses();
          const Path item_path(at, index);
          bool has_status = false;
          bool has_error = false;
          absl::Status status =
              ForEachField(response, item_path, [&](std::string_view field_key, od::value field) {
                if (field_key == "status") {
                  has_status = true;
                  int32_t http_status = 0;
                  absl::Status read = ReadInt32(field, Path(item_path, field_key), &http_status);
                  item->set_status(http_status);
                  return read;
                }
                if (field_key == "error") {
                  has_error = true;
                  return ReadErrorDetail(field, Path(item_path, field_key), item->mutable_error());
                }
                return ReadSearchField(field_key, field, item_path, item->mutable_response());
              });
          if (!status.ok()) return status;
          if (has_error) item->clear_response();
          if (!has_status) item->set_status(has_error ? 500 : 200);
          return absl::OkStatus();
        });
      });
  if (!walked.ok()) return walked;
  if (!has_responses) return Bad(Path(), "missing \"responses\"");
  return absl::OkStatus();
}

absl::Status ParseBulkResponse(simdjson::padded_string_view body,
                               std::vector<BulkItemOutcome>* items, int64_t* took_ms,
                               bool* errors) {
  items->clear();
  int64_t took = 0;
  bool any_errors = false;
  bool has_items = false;
  const absl::Status walked =
      ForEachTopLevelField(body, [&](std::string_view key, od::value value) {
        const Path root;
        const Path at(root, key);
        if (key == "took") return ReadInt64(value, at, &took);
        if (key == "errors") return ReadBool(value, at, &any_errors);
        if (key != "items") return absl::OkStatus();
        has_items = true;
        return ForEachElement(value, at, [items, &at](size_t index, od::value entry) {
          const Path item_path(at, index);
          BulkItemOutcome& item = items->emplace_back();
          int actions = 0;
          absl::Status status =
              ForEachField(entry, item_path, [&](std::string_view action, od::value result) {
                if (++actions > 1) return Bad(item_path, "expected exactly one action per item");
                item.op.assign(action.data(), action.size());
                return ReadBulkItem(result, Path(item_path, action), &item);
              });
          if (!status.ok()) return status;
          if (actions == 0) return Bad(item_path, "expected one action, got an empty object");
          return absl::OkStatus();
        });
      });
  if (!walked.ok()) return walked;
  if (!has_items) return Bad(Path(), "missing \"items\"");
  if (took_ms != nullptr) *took_ms = took;
  if (errors != nullptr) *errors = any_errors;
  return absl::OkStatus();
}

// ---- Copying overloads: the body gets the padding simdjson reads past the end. ----

absl::Status ParseClusterHealth(simdjson::padded_string_view body, v1::ClusterHealth* out) {
  out->Clear();
  bool has_status = false;
  const absl::Status walked =
      ForEachTopLevelField(body, [out, &has_status](std::string_view key, od::value value) {
        const Path root;
        const Path at(root, key);
        if (key == "cluster_name") return ReadString(value, at, out->mutable_cluster_name());
        if (key == "status") {
          has_status = true;
          return ReadString(value, at, out->mutable_status());
        }
        using Setter = void (v1::ClusterHealth::*)(int32_t);
        static constexpr std::pair<std::string_view, Setter> kCounts[] = {
            {"number_of_nodes", &v1::ClusterHealth::set_number_of_nodes},
            {"number_of_data_nodes", &v1::ClusterHealth::set_number_of_data_nodes},
            {"active_primary_shards", &v1::ClusterHealth::set_active_primary_shards},
            {"active_shards", &v1::ClusterHealth::set_active_shards},
            {"relocating_shards", &v1::ClusterHealth::set_relocating_shards},
            {"initializing_shards", &v1::ClusterHealth::set_initializing_shards},
            {"unassigned_shards", &v1::ClusterHealth::set_unassigned_shards},
        };
        for (const auto& [name, set] : kCounts) {
          if (key != name) continue;
          int32_t number = 0;
          ESGW_RETURN_IF_ERROR(ReadInt32(value, at, &number));
          (out->*set)(number);
        }
        return absl::OkStatus();
      });
  if (!walked.ok()) return walked;
  if (!has_status) return Bad(Path(), "missing \"status\"");
  return absl::OkStatus();
}

absl::Status ParseClusterHealth(absl::string_view body, v1::ClusterHealth* out) {
  const simdjson::padded_string padded(body.data(), body.size());
  return ParseClusterHealth(simdjson::padded_string_view(padded), out);
}

absl::Status ParseSearchResponse(absl::string_view body, v1::SearchResponse* out) {
  const simdjson::padded_string padded(body.data(), body.size());
  return ParseSearchResponse(simdjson::padded_string_view(padded), out);
}

absl::Status ParseCountResponse(absl::string_view body, v1::CountResponse* out) {
  const simdjson::padded_string padded(body.data(), body.size());
  return ParseCountResponse(simdjson::padded_string_view(padded), out);
}

absl::Status ParseGetResponse(absl::string_view body, v1::GetResponse* out) {
  const simdjson::padded_string padded(body.data(), body.size());
  return ParseGetResponse(simdjson::padded_string_view(padded), out);
}

absl::Status ParseMultiSearchResponse(absl::string_view body, v1::MultiSearchResponse* out) {
  const simdjson::padded_string padded(body.data(), body.size());
  return ParseMultiSearchResponse(simdjson::padded_string_view(padded), out);
}

absl::Status ParseBulkResponse(absl::string_view body, std::vector<BulkItemOutcome>* items,
                               int64_t* took_ms, bool* errors) {
  const simdjson::padded_string padded(body.data(), body.size());
  return ParseBulkResponse(simdjson::padded_string_view(padded), items, took_ms, errors);
}

}  // namespace esgw
