// Field mappings of one index (explicit from index creation, otherwise inferred loosely the way
// Elasticsearch's dynamic mapping does) and the conversion of _source values into comparable
// field values: analysed tokens for text, exact strings for keyword, numbers for numeric and
// date fields (epoch milliseconds).
// IndexMapping is thread-compatible; the free functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tests/devcluster/json.h"

namespace esgw::devcluster {

enum class FieldType { kText, kKeyword, kLong, kDouble, kDate, kBoolean, kObject };

struct FieldMapping {
  FieldType type = FieldType::kKeyword;
  std::string es_type;            // as reported: "text", "long", "float", "date" ...
  bool keyword_subfield = false;  // text field with fields.keyword (dynamic strings)
};

// A field as a query sees it: where its values live in _source and how they compare.
struct ResolvedField {
  std::string source_path;
  FieldType type = FieldType::kKeyword;
};

// A single value of a field, converted for comparison.
struct FieldValue {
  enum class Kind { kNumber, kString, kBool };
  Kind kind = Kind::kString;
  double number = 0;
  bool integral = false;  // print as an integer (long and date fields)
  std::string text;
  bool flag = false;

  static FieldValue Number(double value, bool is_integral);
  static FieldValue String(std::string value);
  static FieldValue Bool(bool value);
  // As Elasticsearch prints it in sort values and bucket keys.
  Json ToJson() const;
};

// Total order: numbers < strings < booleans across kinds; natural order within a kind.
int CompareValues(const FieldValue& a, const FieldValue& b);

class IndexMapping {
 public:
  // Applies an explicit "mappings" object ({"properties": {...}}). kInvalidArgument carrying a
  // mapper_parsing_exception EsError when a type is unknown or the shape is wrong.
  absl::Status ApplyExplicit(const Json& mappings);
  // Adds mappings for the fields of `source` that have none yet.
  void InferFrom(const Json& source);
  // "name.keyword" resolves to the keyword view of a dynamic text field "name".
  std::optional<ResolvedField> Resolve(absl::string_view field) const;
  // The mapping of exactly `path`, or nullptr.
  const FieldMapping* Lookup(absl::string_view path) const;
  // {"properties": {...}} as GET /{index}/_mapping shows it.
  Json ToJson() const;

 private:
  void Add(const std::string& path, FieldMapping mapping);
  void InferValue(const std::string& path, const Json& value);
  absl::Status ApplyProperties(const std::string& prefix, const Json& properties);

  absl::flat_hash_map<std::string, FieldMapping> fields_;
  std::vector<std::string> order_;
};

// Every raw JSON value at dotted `path` in `source` (arrays flattened; literal dotted keys too).
void CollectRawValues(const Json& source, absl::string_view path, std::vector<const Json*>* out);

// Values of `field` in `source`, converted by its type (text yields its tokens).
std::vector<FieldValue> ExtractValues(const Json& source, const ResolvedField& field);

// Converts a value given in a query for comparison with values of a `type` field; nullopt when it
// cannot be converted (e.g. "abc" for a long field). Dates accept date math ("now-1d/d").
std::optional<FieldValue> ConvertQueryValue(const Json& value, FieldType type);

// Lowercased word tokens, a loose stand-in for the standard analyzer.
std::vector<std::string> Analyze(absl::string_view text);

// ISO-8601 dates ("2024-05-01", "2024-05-01T10:00:00Z", "...+02:00", "2024/05/01") or epoch
// milliseconds, to epoch milliseconds.
std::optional<int64_t> ParseDateMillis(absl::string_view text);
// "2024-05-01T10:00:00.000Z"
std::string FormatDateMillis(int64_t millis);

}  // namespace esgw::devcluster
