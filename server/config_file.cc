#include "server/config_file.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/yaml_events.h"

namespace esgw {
namespace {

// A config file is a few dozen lines; anything this large is the wrong file.
constexpr size_t kMaxConfigBytes = 1024 * 1024;

// The flag that names the config file: a file may not point to another one.
constexpr absl::string_view kConfigKey = "config";

enum class NodeKind { kNull, kScalar, kList, kMapping, kAlias };

// How messages name a node's kind ("a list").
absl::string_view KindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kNull:
      return "null";
    case NodeKind::kScalar:
      return "a scalar";
    case NodeKind::kList:
      return "a list";
    case NodeKind::kMapping:
      return "a mapping";
    case NodeKind::kAlias:
      return "an alias";
  }
  return "unknown";
}

// A key in quotes, on one line whatever bytes it holds.
std::string Quoted(absl::string_view text) {
  return absl::StrCat("'", absl::CHexEscape(text), "'");
}

// yaml-cpp counts lines from 0; a mark it could not place is -1.
int LineOf(const YAML::Mark& mark) { return std::max(mark.line, 0) + 1; }

// yaml-cpp may place an error, or a document, on the line after the last newline, which an
// editor does not show as a line; such a mark is reported on the last line of the text.
int ClampLine(int line, absl::string_view text) {
  int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  if (text.empty() || text.back() != '\n') ++lines;
  return std::clamp(line, 1, std::max(lines, 1));
}

// A YAML node as far as the checks look into it: the top level is at depth 0, its keys and
// values at 1, the items of a list value at 2. Of deeper nodes only their parent's kind counts.
struct FlatNode {
  NodeKind kind = NodeKind::kNull;
  std::string text = "";  // for kScalar
  int line = 1;
  int depth = 0;
};

// Collects one document's nodes down to depth 2, in document order, from yaml-cpp's parse
// events. Aliases are kept as such, never expanded, so no input can make the result larger
// than the text.
class NodeCollector final : public YAML::EventHandler {
 public:
  const std::vector<FlatNode>& nodes() const { return nodes_; }
  // Where the document starts (its first token).
  const YAML::Mark& start() const { return start_; }

  void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Add(NodeKind::kNull, mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Add(NodeKind::kAlias, mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    Add(NodeKind::kScalar, mark, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Add(NodeKind::kList, mark);
    ++depth_;
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Add(NodeKind::kMapping, mark);
    ++depth_;
  }
  void OnMapEnd() override { --depth_; }

 private:
  void Add(NodeKind kind, const YAML::Mark& mark, const std::string& text = "") {
    if (depth_ > 2) return;
    nodes_.push_back(FlatNode{.kind = kind, .text = text, .line = LineOf(mark), .depth = depth_});
  }

  std::vector<FlatNode> nodes_;
  YAML::Mark start_ = YAML::Mark::null_mark();
  int depth_ = 0;
};

// Records only where a document starts.
class StartRecorder final : public IgnoringYamlEvents {
 public:
  const YAML::Mark& start() const { return start_; }
  void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark; }

 private:
  YAML::Mark start_ = YAML::Mark::null_mark();
};

struct Item {
  NodeKind kind = NodeKind::kNull;
  std::string text = "";  // for kScalar
};

struct Pair {
  Item key = {};
  int line = 1;  // of the key
  Item value = {};
  std::vector<Item> list = {};  // the items, when value.kind is kList
};

// A parsed file: its top-level kind, and for a mapping its pairs in file order. error is set
// (and the rest empty) when the text is not YAML this reader can take.
struct Document {
  NodeKind kind = NodeKind::kNull;
  int line = 1;
  std::vector<Pair> pairs = {};
  std::string error = "";
};

// Pairs the keys and values of a top-level mapping: its children alternate key, value.
Document FromNodes(const std::vector<FlatNode>& nodes) {
  Document document;
  if (nodes.empty()) return document;
  document.kind = nodes[0].kind;
  document.line = nodes[0].line;
  if (document.kind != NodeKind::kMapping) return document;
  bool key_next = true;
  // The items of the list value that depth-2 nodes now belong to, if any. Set after the last
  // push_back to pairs and cleared before the next, so it never dangles.
  std::vector<Item>* list = nullptr;
  for (size_t i = 1; i < nodes.size(); ++i) {
    const FlatNode& node = nodes[i];
    const Item item{.kind = node.kind, .text = node.text};
    if (node.depth == 2) {
      if (list != nullptr) list->push_back(item);
      continue;
    }
    list = nullptr;
    if (key_next) {
      document.pairs.push_back(Pair{.key = item, .line = node.line});
    } else {
      document.pairs.back().value = item;
      if (node.kind == NodeKind::kList) list = &document.pairs.back().list;
    }
    key_next = !key_next;
  }
  return document;
}

// The error for a token yaml-cpp could not place, at mark.
Document Unexpected(absl::string_view text, const YAML::Mark& mark) {
  // Mark positions do not count a UTF-8 byte order mark, which some editors write.
  const size_t bom = absl::StartsWith(text, "\xef\xbb\xbf") ? 3 : 0;
  const size_t pos = mark.pos < 0 ? text.size() : bom + static_cast<size_t>(mark.pos);
  // Anything but plain ASCII could be a character of a text yaml-cpp read as UTF-16 or -32.
  if (pos < text.size() && text[pos] > ' ' && text[pos] < 0x7f) {
    return Document{
        .line = LineOf(mark),
        .error = absl::StrCat("YAML syntax error: unexpected '", text.substr(pos, 1), "'")};
  }
  return Document{.line = LineOf(mark), .error = "YAML syntax error: unexpected token"};
}

// Everything that touches yaml-cpp, which reports malformed input by throwing: that stops here.
Document ReadYaml(absl::string_view text) {
  Document document;
  try {
    std::istringstream stream{std::string(text)};
    YAML::Parser parser(stream);
    NodeCollector first;
    // No document at all (an empty file, only comments) reads like an empty one ("---").
    if (!parser.HandleNextDocument(first)) return document;
    document = FromNodes(first.nodes());

    // yaml-cpp reports a token it cannot place (a ',' outside brackets) as an empty document
    // that does not consume it, and then again as the next one: a document that starts where
    // the one before started is that token, not another document.
    StartRecorder second;
    if (!parser.HandleNextDocument(second)) return document;
    if (second.start().pos == first.start().pos) return Unexpected(text, second.start());
    StartRecorder third;
    if (parser.HandleNextDocument(third) && third.start().pos == second.start().pos) {
      return Unexpected(text, third.start());
    }
    return Document{.line = LineOf(second.start()),
                    .error = "a config file holds one YAML document; a second one starts here"};
  } catch (const YAML::Exception& e) {
    document = Document{.line = LineOf(e.mark),
                        .error = absl::StrCat("YAML syntax error: ", absl::CHexEscape(e.msg))};
  } catch (const std::exception& e) {
    document = Document{
        .line = 1, .error = absl::StrCat("cannot read the YAML: ", absl::CHexEscape(e.what()))};
  }
  return document;
}

// Adjacent-swap edit distance (optimal string alignment) between a and b.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  // rows[i % 3][j]: distance between the first i characters of a and the first j of b.
  std::vector<std::vector<size_t>> rows(3, std::vector<size_t>(b.size() + 1, 0));
  for (size_t j = 0; j <= b.size(); ++j) rows[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    std::vector<size_t>& row = rows[i % 3];
    const std::vector<size_t>& above = rows[(i - 1) % 3];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = above[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above[j] + 1, row[j - 1] + 1, substitute});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], rows[(i - 2) % 3][j - 2] + 1);
      }
    }
  }
  return rows[a.size() % 3][b.size()];
}

}  // namespace

std::string ClosestKey(absl::string_view key, absl::Span<const std::string> known_keys) {
  // Two edits turn most short words into each other; a suggestion must keep more than half of
  // what was typed to help.
  constexpr size_t kMaxDistance = 2;
  const std::string* best = nullptr;
  size_t best_distance = kMaxDistance + 1;
  for (const std::string& candidate : known_keys) {
    // Each edit changes the length by at most one; this also keeps a huge key cheap.
    const size_t length_difference = candidate.size() > key.size() ? candidate.size() - key.size()
                                                                   : key.size() - candidate.size();
    if (candidate == key || length_difference > kMaxDistance) continue;
    const size_t distance = EditDistance(key, candidate);
    if (distance < best_distance && 2 * distance < key.size()) {
      best = &candidate;
      best_distance = distance;
    }
  }
  return best == nullptr ? "" : *best;
}

absl::StatusOr<std::vector<ConfigEntry>> ParseConfig(
    absl::string_view text, absl::string_view source,
    const std::function<bool(absl::string_view)>& is_known_key,
    absl::Span<const std::string> known_keys) {
  auto error = [source](int line, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ": ", what));
  };
  auto settable = [&is_known_key](absl::string_view key) {
    return key != kConfigKey && (!is_known_key || is_known_key(key));
  };

  const Document document = ReadYaml(text);
  if (!document.error.empty()) return error(ClampLine(document.line, text), document.error);
  if (document.kind == NodeKind::kNull) return std::vector<ConfigEntry>{};
  if (document.kind != NodeKind::kMapping) {
    return error(document.line, absl::StrCat("the file must be a mapping of flag names to "
                                             "values, not ",
                                             KindName(document.kind)));
  }

  std::vector<ConfigEntry> entries;
  std::map<std::string, int, std::less<>> first_line;  // key -> line it was first given on
  for (const Pair& pair : document.pairs) {
    if (pair.key.kind != NodeKind::kScalar) {
      return error(pair.line,
                   absl::StrCat("a key must be a flag name, not ", KindName(pair.key.kind)));
    }
    const std::string& key = pair.key.text;
    const std::string quoted = Quoted(key);
    if (key == kConfigKey) {
      return error(pair.line, absl::StrCat(quoted, " cannot be set inside a config file"));
    }
    if (!settable(key)) {
      const std::string suggestion = ClosestKey(key, known_keys);
      if (suggestion.empty() || !settable(suggestion)) {
        return error(pair.line, absl::StrCat("unknown key ", quoted));
      }
      return error(pair.line, absl::StrCat("unknown key ", quoted, " (did you mean ",
                                           Quoted(suggestion), "?)"));
    }
    if (const auto [it, inserted] = first_line.emplace(key, pair.line); !inserted) {
      return error(pair.line, absl::StrCat("key ", quoted, " is given twice (first at line ",
                                           it->second, ")"));
    }

    ConfigEntry entry{.key = key, .line = pair.line};
    switch (pair.value.kind) {
      case NodeKind::kNull:
        // Almost always a value forgotten, not a wish to set the flag to "".
        return error(pair.line, absl::StrCat("key ", quoted, " has no value"));
      case NodeKind::kMapping:
      // Not expanded: a list of aliases to one long scalar could expand to gigabytes.
      case NodeKind::kAlias:
        return error(pair.line, absl::StrCat("key ", quoted,
                                             ": a value must be a scalar or a list of scalars, "
                                             "not ",
                                             KindName(pair.value.kind)));
      case NodeKind::kScalar:
        entry.value = pair.value.text;
        break;
      case NodeKind::kList:
        for (size_t i = 0; i < pair.list.size(); ++i) {
          const Item& item = pair.list[i];
          if (item.kind == NodeKind::kNull) {
            return error(pair.line, absl::StrCat("key ", quoted, ": item ", i + 1,
                                                 " of the list has no value"));
          }
          if (item.kind != NodeKind::kScalar) {
            return error(pair.line,
                         absl::StrCat("key ", quoted, ": item ", i + 1,
                                      " of the list must be a scalar, not ", KindName(item.kind)));
          }
        }
        // Flags that take lists read them comma-separated, as on the command line.
        entry.value = absl::StrJoin(
            pair.list, ",", [](std::string* out, const Item& item) { out->append(item.text); });
        break;
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::vector<ConfigEntry>> LoadConfigFile(
    const std::string& path, const std::function<bool(absl::string_view)>& is_known_key,
    absl::Span<const std::string> known_keys) {
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    const int error_number = errno;
    return absl::ErrnoToStatus(error_number, absl::StrCat(path, ": cannot open the config file"));
  }
  // One byte more than allowed, to tell a file of exactly the limit from a larger one.
  std::string text(kMaxConfigBytes + 1, '\0');
  const size_t size = std::fread(text.data(), 1, text.size(), file.get());
  if (std::ferror(file.get())) {
    const int error_number = errno;
    return absl::ErrnoToStatus(error_number, absl::StrCat(path, ": cannot read the config file"));
  }
  if (size > kMaxConfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the config file is larger than ", kMaxConfigBytes, " bytes"));
  }
  text.resize(size);
  return ParseConfig(text, path, is_known_key, known_keys);
}

}  // namespace esgw
