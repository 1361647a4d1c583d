#include "tests/devcluster/json.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace esgw::devcluster {
namespace {

// Accepts every event and records the first syntax error; used only on the failure path so the
// common path stays a single DOM parse.
class ErrorRecordingSax : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception&) override {
    position_ = position;
    last_token_ = last_token;
    failed_ = true;
    return false;
  }

  bool failed() const { return failed_; }
  std::size_t position() const { return position_; }
  const std::string& last_token() const { return last_token_; }

 private:
  bool failed_ = false;
  std::size_t position_ = 0;
  std::string last_token_;
};

std::pair<int, int> LineColumn(absl::string_view text, std::size_t offset) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

std::optional<Json> ParseJson(absl::string_view text) {
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

JsonSyntaxError DescribeJsonError(absl::string_view text) {
  ErrorRecordingSax sax;
  Json::sax_parse(text.begin(), text.end(), &sax, nlohmann::json::input_format_t::json,
                  /*strict=*/true);
  JsonSyntaxError error;
  // nlohmann reports the position just past the offending character.
  std::size_t offset = sax.position() > 0 ? sax.position() - 1 : 0;
  auto [line, column] = LineColumn(text, offset);
  error.line = line;
  error.column = column;
  if (!sax.failed() || offset >= text.size()) {
    error.message = "Unexpected end-of-input";
  } else {
    unsigned char c = static_cast<unsigned char>(text[offset]);
    std::string shown = (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : "?";
    error.message =
        absl::StrCat("Unexpected character ('", shown, "' (code ", static_cast<int>(c), "))");
  }
  return error;
}

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json* Find(const Json& object, absl::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  if (it == object.end()) return nullptr;
  return &*it;
}

std::optional<std::string> GetString(const Json& object, absl::string_view key) {
  const Json* value = Find(object, key);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

std::optional<int64_t> GetInt(const Json& object, absl::string_view key) {
  const Json* value = Find(object, key);
  if (value == nullptr || !value->is_number()) return std::nullopt;
  if (value->is_number_float()) return static_cast<int64_t>(value->get<double>());
  return value->get<int64_t>();
}

std::optional<bool> GetBool(const Json& object, absl::string_view key) {
  const Json* value = Find(object, key);
  if (value == nullptr || !value->is_boolean()) return std::nullopt;
  return value->get<bool>();
}

std::pair<int, int> LocateKey(absl::string_view text, absl::string_view key) {
  std::string quoted = absl::StrCat("\"", key, "\"");
  std::size_t at = text.find(quoted);
  if (at == absl::string_view::npos) return {1, 1};
  return LineColumn(text, at);
}

}  // namespace esgw::devcluster
