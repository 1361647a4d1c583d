#include "tests/devcluster/mapping.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/devcluster/es_error.h"

namespace esgw::devcluster {
namespace {

bool ParseDigits(absl::string_view text, std::size_t pos, std::size_t count, int* out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = value;
  return true;
}

std::optional<FieldMapping> MappingForType(absl::string_view type) {
  FieldMapping mapping;
  mapping.es_type = std::string(type);
  if (type == "text" || type == "match_only_text") {
    mapping.type = FieldType::kText;
  } else if (type == "keyword" || type == "constant_keyword" || type == "wildcard" ||
             type == "ip" || type == "version") {
    mapping.type = FieldType::kKeyword;
  } else if (type == "long" || type == "integer" || type == "short" || type == "byte" ||
             type == "unsigned_long") {
    mapping.type = FieldType::kLong;
  } else if (type == "double" || type == "float" || type == "half_float" ||
             type == "scaled_float") {
    mapping.type = FieldType::kDouble;
  } else if (type == "date" || type == "date_nanos") {
    mapping.type = FieldType::kDate;
  } else if (type == "boolean") {
    mapping.type = FieldType::kBoolean;
  } else if (type == "object" || type == "nested" || type == "flattened") {
    mapping.type = FieldType::kObject;
  } else {
    return std::nullopt;
  }
  return mapping;
}

std::optional<double> ParseNumber(const Json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    double parsed = 0;
    if (absl::SimpleAtod(value.get<std::string>(), &parsed)) return parsed;
  }
  return std::nullopt;
}

// now, now-1d, now+2h/d, 2024-01-01||+1M ... Units: y M w d h H m s.
std::optional<int64_t> ParseDateMath(absl::string_view text) {
  int64_t base = 0;
  absl::string_view math;
  if (absl::StartsWith(text, "now")) {
    base = absl::ToUnixMillis(absl::Now());
    math = text.substr(3);
  } else if (std::size_t bars = text.find("||"); bars != absl::string_view::npos) {
    std::optional<int64_t> anchor = ParseDateMillis(text.substr(0, bars));
    if (!anchor.has_value()) return std::nullopt;
    base = *anchor;
    math = text.substr(bars + 2);
  } else {
    return ParseDateMillis(text);
  }
  absl::CivilSecond civil = absl::ToCivilSecond(absl::FromUnixMillis(base), absl::UTCTimeZone());
  int64_t millis_part = base - absl::ToUnixMillis(absl::FromCivil(civil, absl::UTCTimeZone()));
  std::size_t pos = 0;
  while (pos < math.size()) {
    char op = math[pos++];
    if (op == '/') {
      if (pos >= math.size()) return std::nullopt;
      char unit = math[pos++];
      millis_part = 0;
      switch (unit) {
        case 'y':
          civil = absl::CivilSecond(absl::CivilYear(civil));
          break;
        case 'M':
          civil = absl::CivilSecond(absl::CivilMonth(civil));
          break;
        case 'w': {
          absl::CivilDay day(civil);
          while (absl::GetWeekday(day) != absl::Weekday::monday) day -= 1;
          civil = absl::CivilSecond(day);
          break;
        }
        case 'd':
          civil = absl::CivilSecond(absl::CivilDay(civil));
          break;
        case 'h':
        case 'H':
          civil = absl::CivilSecond(absl::CivilHour(civil));
          break;
        case 'm':
          civil = absl::CivilSecond(absl::CivilMinute(civil));
          break;
        case 's':
          break;
        default:
          return std::nullopt;
      }
      continue;
    }
    if (op != '+' && op != '-') return std::nullopt;
    std::size_t start = pos;
    while (pos < math.size() && absl::ascii_isdigit(static_cast<unsigned char>(math[pos]))) ++pos;
    int amount = 1;
    if (pos > start && !absl::SimpleAtoi(math.substr(start, pos - start), &amount)) {
      return std::nullopt;
    }
    if (pos >= math.size()) return std::nullopt;
    if (op == '-') amount = -amount;
    switch (math[pos++]) {
      case 'y':
        civil = absl::CivilSecond(civil.year() + amount, civil.month(), civil.day(), civil.hour(),
                                  civil.minute(), civil.second());
        break;
      case 'M':
        civil = absl::CivilSecond(civil.year(), civil.month() + amount, civil.day(), civil.hour(),
                                  civil.minute(), civil.second());
        break;
      case 'w':
        civil += int64_t{amount} * 7 * 86400;
        break;
      case 'd':
        civil += int64_t{amount} * 86400;
        break;
      case 'h':
      case 'H':
        civil += int64_t{amount} * 3600;
        break;
      case 'm':
        civil += int64_t{amount} * 60;
        break;
      case 's':
        civil += amount;
        break;
      default:
        return std::nullopt;
    }
  }
  return absl::ToUnixMillis(absl::FromCivil(civil, absl::UTCTimeZone())) + millis_part;
}

void Collect(const Json& node, const std::vector<std::string>& parts, std::size_t index,
             std::vector<const Json*>* out) {
  if (node.is_array()) {
    for (const Json& element : node) Collect(element, parts, index, out);
    return;
  }
  if (index == parts.size()) {
    if (!node.is_null()) out->push_back(&node);
    return;
  }
  if (!node.is_object()) return;
  // Keys may themselves contain dots ("a.b": 1), so try every split of the remaining path.
  std::string key;
  for (std::size_t end = index; end < parts.size(); ++end) {
    if (end > index) key.push_back('.');
    key.append(parts[end]);
    auto it = node.find(key);
    if (it != node.end()) Collect(*it, parts, end + 1, out);
  }
}

void ToPropertiesJson(const std::string& prefix,
                      const absl::flat_hash_map<std::string, FieldMapping>& fields,
                      const std::vector<std::string>& order, Json* properties) {
  for (const std::string& path : order) {
    if (!absl::StartsWith(path, prefix)) continue;
    absl::string_view rest = absl::string_view(path).substr(prefix.size());
    if (rest.empty() || absl::StrContains(rest, '.')) continue;
    const FieldMapping& mapping = fields.at(path);
    Json entry = Json::object();
    if (mapping.type == FieldType::kObject) {
      Json children = Json::object();
      ToPropertiesJson(path + ".", fields, order, &children);
      entry["properties"] = std::move(children);
    } else {
      entry["type"] = mapping.es_type;
      if (mapping.keyword_subfield) {
        entry["fields"] = {{"keyword", {{"type", "keyword"}, {"ignore_above", 256}}}};
      }
    }
    (*properties)[std::string(rest)] = std::move(entry);
  }
}

}  // namespace

FieldValue FieldValue::Number(double value, bool is_integral) {
  FieldValue out;
  out.kind = Kind::kNumber;
  out.number = value;
  out.integral = is_integral;
  return out;
}

FieldValue FieldValue::String(std::string value) {
  FieldValue out;
  out.kind = Kind::kString;
  out.text = std::move(value);
  return out;
}

FieldValue FieldValue::Bool(bool value) {
  FieldValue out;
  out.kind = Kind::kBool;
  out.flag = value;
  return out;
}

Json FieldValue::ToJson() const {
  switch (kind) {
    case Kind::kNumber:
      if (integral) return static_cast<int64_t>(number);
      return number;
    case Kind::kBool:
      return flag;
    case Kind::kString:
      return text;
  }
  return nullptr;
}

int CompareValues(const FieldValue& a, const FieldValue& b) {
  if (a.kind != b.kind) return static_cast<int>(a.kind) < static_cast<int>(b.kind) ? -1 : 1;
  switch (a.kind) {
    case FieldValue::Kind::kNumber:
      return a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
    case FieldValue::Kind::kString:
      return a.text.compare(b.text) < 0 ? -1 : (a.text == b.text ? 0 : 1);
    case FieldValue::Kind::kBool:
      return static_cast<int>(a.flag) - static_cast<int>(b.flag);
  }
  return 0;
}

absl::Status IndexMapping::ApplyExplicit(const Json& mappings) {
  if (!mappings.is_object()) {
    EsError error;
    error.status = 400;
    error.type = "mapper_parsing_exception";
    error.reason = "Failed to parse mapping: mappings must be an object";
    return ToStatus(error);
  }
  const Json* properties = Find(mappings, "properties");
  if (properties == nullptr) return absl::OkStatus();
  return ApplyProperties("", *properties);
}

absl::Status IndexMapping::ApplyProperties(const std::string& prefix, const Json& properties) {
  if (!properties.is_object()) return absl::OkStatus();
  for (const auto& [name, definition] : properties.items()) {
    std::string path = prefix + name;
    std::string type = GetString(definition, "type")
                           .value_or(Find(definition, "properties") != nullptr ? "object" : "");
    std::optional<FieldMapping> mapping = MappingForType(type);
    if (!mapping.has_value()) {
      EsError error;
      error.status = 400;
      error.type = "mapper_parsing_exception";
      error.reason = type.empty() ? absl::StrCat("No type specified for field [", name, "]")
                                  : absl::StrCat("No handler for type [", type,
                                                 "] declared on field [", name, "]");
      return ToStatus(error);
    }
    if (mapping->type == FieldType::kText) {
      const Json* fields = Find(definition, "fields");
      const Json* keyword = fields != nullptr ? Find(*fields, "keyword") : nullptr;
      mapping->keyword_subfield = keyword != nullptr && GetString(*keyword, "type") == "keyword";
    }
    Add(path, *mapping);
    if (mapping->type == FieldType::kObject) {
      if (const Json* children = Find(definition, "properties")) {
        if (absl::Status status = ApplyProperties(path + ".", *children); !status.ok()) {
          return status;
        }
      }
    }
  }
  return absl::OkStatus();
}

void IndexMapping::Add(const std::string& path, FieldMapping mapping) {
  // Parents of dotted paths are objects.
  std::size_t dot = path.rfind('.');
  if (dot != std::string::npos && !fields_.contains(path.substr(0, dot))) {
    FieldMapping parent;
    parent.type = FieldType::kObject;
    parent.es_type = "object";
    Add(path.substr(0, dot), parent);
  }
  auto [it, inserted] = fields_.emplace(path, mapping);
  if (inserted) order_.push_back(path);
}

void IndexMapping::InferFrom(const Json& source) {
  if (!source.is_object()) return;
  for (const auto& [key, value] : source.items()) InferValue(key, value);
}

void IndexMapping::InferValue(const std::string& path, const Json& value) {
  if (value.is_array()) {
    for (const Json& element : value) InferValue(path, element);
    return;
  }
  auto existing = fields_.find(path);
  if (value.is_object()) {
    if (existing == fields_.end()) {
      FieldMapping mapping;
      mapping.type = FieldType::kObject;
      mapping.es_type = "object";
      Add(path, mapping);
    }
    for (const auto& [key, child] : value.items()) InferValue(path + "." + key, child);
    return;
  }
  if (existing != fields_.end() || value.is_null()) return;
  FieldMapping mapping;
  if (value.is_boolean()) {
    mapping.type = FieldType::kBoolean;
    mapping.es_type = "boolean";
  } else if (value.is_number_float()) {
    mapping.type = FieldType::kDouble;
    mapping.es_type = "float";
  } else if (value.is_number()) {
    mapping.type = FieldType::kLong;
    mapping.es_type = "long";
  } else if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    bool date_like = text.size() >= 10 &&
                     absl::ascii_isdigit(static_cast<unsigned char>(text[0])) &&
                     (text[4] == '-' || text[4] == '/') && ParseDateMillis(text).has_value();
    if (date_like) {
      mapping.type = FieldType::kDate;
      mapping.es_type = "date";
    } else {
      mapping.type = FieldType::kText;
      mapping.es_type = "text";
      mapping.keyword_subfield = true;
    }
  } else {
    return;
  }
  Add(path, mapping);
}

std::optional<ResolvedField> IndexMapping::Resolve(absl::string_view field) const {
  auto it = fields_.find(field);
  if (it != fields_.end()) {
    if (it->second.type == FieldType::kObject) return std::nullopt;
    return ResolvedField{std::string(field), it->second.type};
  }
  if (absl::EndsWith(field, ".keyword")) {
    absl::string_view base = field.substr(0, field.size() - 8);
    auto parent = fields_.find(base);
    if (parent != fields_.end() && parent->second.keyword_subfield) {
      return ResolvedField{std::string(base), FieldType::kKeyword};
    }
  }
  return std::nullopt;
}

const FieldMapping* IndexMapping::Lookup(absl::string_view path) const {
  auto it = fields_.find(path);
  return it == fields_.end() ? nullptr : &it->second;
}

Json IndexMapping::ToJson() const {
  Json properties = Json::object();
  ToPropertiesJson("", fields_, order_, &properties);
  Json out = Json::object();
  if (!properties.empty()) out["properties"] = std::move(properties);
  return out;
}

void CollectRawValues(const Json& source, absl::string_view path, std::vector<const Json*>* out) {
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  Collect(source, parts, 0, out);
}

std::vector<FieldValue> ExtractValues(const Json& source, const ResolvedField& field) {
  std::vector<const Json*> raw;
  CollectRawValues(source, field.source_path, &raw);
  std::vector<FieldValue> values;
  for (const Json* value : raw) {
    if (value->is_object()) continue;
    if (field.type == FieldType::kText) {
      if (value->is_string()) {
        for (std::string& token : Analyze(value->get_ref<const std::string&>())) {
          values.push_back(FieldValue::String(std::move(token)));
        }
      } else if (value->is_primitive()) {
        for (std::string& token : Analyze(Dump(*value))) {
          values.push_back(FieldValue::String(std::move(token)));
        }
      }
      continue;
    }
    std::optional<FieldValue> converted = ConvertQueryValue(*value, field.type);
    if (converted.has_value()) values.push_back(std::move(*converted));
  }
  return values;
}

std::optional<FieldValue> ConvertQueryValue(const Json& value, FieldType type) {
  switch (type) {
    case FieldType::kText:
    case FieldType::kKeyword:
    case FieldType::kObject:
      if (value.is_string()) return FieldValue::String(value.get<std::string>());
      if (value.is_number_integer()) return FieldValue::String(Dump(value));
      if (value.is_number_float()) return FieldValue::String(Dump(value));
      if (value.is_boolean()) return FieldValue::String(value.get<bool>() ? "true" : "false");
      return std::nullopt;
    case FieldType::kLong: {
      std::optional<double> number = ParseNumber(value);
      if (!number.has_value()) return std::nullopt;
      return FieldValue::Number(std::trunc(*number), true);
    }
    case FieldType::kDouble: {
      std::optional<double> number = ParseNumber(value);
      if (!number.has_value()) return std::nullopt;
      return FieldValue::Number(*number, false);
    }
    case FieldType::kDate: {
      if (value.is_number()) return FieldValue::Number(std::trunc(value.get<double>()), true);
      if (!value.is_string()) return std::nullopt;
      std::optional<int64_t> millis = ParseDateMath(value.get_ref<const std::string&>());
      if (!millis.has_value()) return std::nullopt;
      return FieldValue::Number(static_cast<double>(*millis), true);
    }
    case FieldType::kBoolean:
      if (value.is_boolean()) return FieldValue::Bool(value.get<bool>());
      if (value.is_string()) {
        const std::string& text = value.get_ref<const std::string&>();
        if (text == "true") return FieldValue::Bool(true);
        if (text == "false" || text.empty()) return FieldValue::Bool(false);
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<std::string> Analyze(absl::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    // Bytes of multi-byte UTF-8 sequences count as word characters.
    if (absl::ascii_isalnum(u) || u >= 0x80 || c == '_') {
      current.push_back(static_cast<char>(absl::ascii_tolower(u)));
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

std::optional<int64_t> ParseDateMillis(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return std::nullopt;
  bool all_digits = true;
  for (std::size_t i = (text[0] == '-' ? 1 : 0); i < text.size(); ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) all_digits = false;
  }
  if (all_digits && text.size() != 4) {
    int64_t millis = 0;
    if (absl::SimpleAtoi(text, &millis)) return millis;
  }
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int64_t fraction_millis = 0;
  if (!ParseDigits(text, 0, 4, &year)) return std::nullopt;
  std::size_t pos = 4;
  if (pos < text.size()) {
    char separator = text[pos];
    if (separator != '-' && separator != '/') return std::nullopt;
    if (!ParseDigits(text, pos + 1, 2, &month)) return std::nullopt;
    pos += 3;
    if (pos < text.size()) {
      if (text[pos] != separator || !ParseDigits(text, pos + 1, 2, &day)) return std::nullopt;
      pos += 3;
    }
  }
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
    if (!ParseDigits(text, pos + 1, 2, &hour)) return std::nullopt;
    pos += 3;
    if (pos < text.size() && text[pos] == ':') {
      if (!ParseDigits(text, pos + 1, 2, &minute)) return std::nullopt;
      pos += 3;
      if (pos < text.size() && text[pos] == ':') {
        if (!ParseDigits(text, pos + 1, 2, &second)) return std::nullopt;
        pos += 3;
        if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
          ++pos;
          int digits = 0;
          while (pos < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[pos]))) {
            if (digits < 3) fraction_millis = fraction_millis * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
          }
          if (digits == 0) return std::nullopt;
          for (int i = digits; i < 3; ++i) fraction_millis *= 10;
        }
      }
    }
  }
  int64_t offset_seconds = 0;
  if (pos < text.size()) {
    if (text[pos] == 'Z' || text[pos] == 'z') {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      int sign = text[pos] == '-' ? -1 : 1;
      int offset_hours = 0, offset_minutes = 0;
      if (!ParseDigits(text, pos + 1, 2, &offset_hours)) return std::nullopt;
      pos += 3;
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (pos < text.size()) {
        if (!ParseDigits(text, pos, 2, &offset_minutes)) return std::nullopt;
        pos += 2;
      }
      offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
    }
  }
  if (pos != text.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.day() != day) return std::nullopt;  // e.g. February 30th normalised away
  int64_t seconds = absl::ToUnixSeconds(absl::FromCivil(civil, absl::UTCTimeZone()));
  return (seconds - offset_seconds) * 1000 + fraction_millis;
}

std::string FormatDateMillis(int64_t millis) {
  absl::Time time = absl::FromUnixMillis(millis);
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

}  // namespace esgw::devcluster
