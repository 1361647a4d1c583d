#include "client/cli/json_text.h"

#include <simdjson.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace esgw::cli {
namespace {

// Calls emit(token) for each JSON token of json in order, whitespace dropped; strings are one
// token with their quotes. False when a string is unterminated.
template <typename Emit>
bool Tokens(absl::string_view json, Emit&& emit) {
  size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '"') {
      size_t j = i + 1;
      while (j < json.size() && json[j] != '"') j += json[j] == '\\' ? 2 : 1;
      if (j >= json.size()) return false;
      emit(json.substr(i, j + 1 - i));
      i = j + 1;
    } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':') {
      emit(json.substr(i, 1));
      ++i;
    } else {
      size_t j = i;
      while (j < json.size() && json[j] != ',' && json[j] != '}' && json[j] != ']' &&
             json[j] != ':' && json[j] != ' ' && json[j] != '\n' && json[j] != '\t' &&
             json[j] != '\r' && json[j] != '"') {
        ++j;
      }
      emit(json.substr(i, j - i));
      i = j;
    }
  }
  return true;
}

}  // namespace

std::string PrettyJson(absl::string_view json) {
  std::string out;
  int depth = 0;
  bool balanced = true;
  // Set after an opening bracket, so that "{}" and "[]" stay on one line.
  bool just_opened = false;
  const auto newline = [&] {
    out.push_back('\n');
    out.append(static_cast<size_t>(std::max(depth, 0)) * 2, ' ');
  };
  const bool complete = Tokens(json, [&](absl::string_view token) {
    const char c = token[0];
    const bool closing = token.size() == 1 && (c == '}' || c == ']');
    if (just_opened && !closing) newline();
    just_opened = false;
    if (token.size() == 1 && (c == '{' || c == '[')) {
      out.push_back(c);
      ++depth;
      just_opened = true;
    } else if (closing) {
      --depth;
      if (depth < 0) balanced = false;
      if (out.empty() || (out.back() != '{' && out.back() != '[')) newline();
      out.push_back(c);
    } else if (token == ",") {
      out.push_back(',');
      newline();
    } else if (token == ":") {
      out.append(": ");
    } else {
      out.append(token.data(), token.size());
    }
  });
  if (!complete || !balanced || depth != 0) return std::string(json);
  return out;
}

std::string CompactJson(absl::string_view json) {
  std::string out;
  out.reserve(json.size());
  if (!Tokens(json, [&](absl::string_view token) { out.append(token.data(), token.size()); })) {
    return std::string(json);
  }
  return out;
}

absl::Status CheckJsonObject(absl::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(text.data(), text.size()).get(root);
  if (error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid JSON: ", simdjson::error_message(error)));
  }
  if (!root.is_object()) return absl::InvalidArgumentError("not a JSON object");
  return absl::OkStatus();
}

std::optional<std::string> JsonField(absl::string_view text, absl::string_view path) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element value;
  if (parser.parse(text.data(), text.size()).get(value) != simdjson::SUCCESS) return std::nullopt;
  for (absl::string_view key : absl::StrSplit(path, '.')) {
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
    if (object.at_key(std::string_view(key.data(), key.size())).get(value) != simdjson::SUCCESS) {
      return std::nullopt;
    }
  }
  std::string_view string;
  if (value.get_string().get(string) == simdjson::SUCCESS) return std::string(string);
  return simdjson::minify(value);
}

}  // namespace esgw::cli
