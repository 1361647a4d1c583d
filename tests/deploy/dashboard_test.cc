// The Grafana dashboard in deploy/grafana/esgw.json, kept true to what esgw serves.
//
// Structural cases read the JSON model alone: unique panel ids on a 24-column grid, every panel
// and query on the ${datasource} variable, a title, description and unit on every panel, only
// defined variables, balanced brackets. The last case starts a dev cluster and the built
// esgw-server, sends some traffic so that labelled series exist, scrapes /metrics and checks
// every metric, label and label value each PromQL expression names against the scrape, so that
// renaming a metric in server/metrics.cc without the dashboard (or the other way round) fails.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/prom_text.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using ::nlohmann::json;

constexpr char kDashboardPath[] = ESGW_SOURCE_DIR "/deploy/grafana/esgw.json";

// ---- A PromQL tokenizer ----
//
// There is no PromQL engine in this project (Prometheus is not a dependency, and the dashboard
// stays plain JSON), so this is a small tokenizer, not a parser: it walks an expression once and
// sorts what it meets. Identifiers are metric names unless they are PromQL keywords, aggregation
// operators or functions (an unknown identifier followed by '(' is an error, which catches a
// misspelt function); string literals, numbers and durations are skipped; a {...} block is read
// as label matchers; the parenthesised lists after by, without, on, ignoring, group_left and
// group_right are label names; [...] is a range or subquery. It does not check the grammar
// beyond that: label names inside the string arguments of label_replace and count_values are
// not seen.

struct Matcher {
  std::string label;
  std::string op;     // =, !=, =~ or !~
  std::string value;  // unquoted (escapes are not undone; none are needed here)
};

// A vector selector: metric{matchers}. name is empty for a selector that is only {...}.
struct Selector {
  std::string name;
  std::vector<Matcher> matchers;
};

// A range or subquery, [text], and the function whose argument it is ("" when none).
struct Range {
  std::string function;
  std::string text;
};

struct PromQlRefs {
  std::vector<Selector> selectors;
  // Label names in by (...), without (...), on (...), ignoring (...), group_left (...) and
  // group_right (...).
  std::set<std::string> grouping_labels;
  std::vector<Range> ranges;
  // Grafana variables ($name, ${name}, ${name:format}) anywhere in the expression.
  std::set<std::string> variables;
};

// PromQL's functions (Prometheus 2 and 3); aggregation operators are in IsAggregation.
bool IsFunction(absl::string_view word) {
  static const auto* kFunctions = new std::set<std::string, std::less<>>(
      absl::StrSplit("abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time "
                     "ceil changes clamp clamp_max clamp_min cos cosh count_over_time day_of_month "
                     "day_of_week day_of_year days_in_month deg delta deriv "
                     "double_exponential_smoothing exp floor histogram_avg histogram_count "
                     "histogram_fraction histogram_quantile histogram_stddev histogram_stdvar "
                     "histogram_sum holt_winters hour idelta increase irate label_join "
                     "label_replace last_over_time ln log10 log2 mad_over_time max_over_time "
                     "min_over_time minute month pi predict_linear present_over_time "
                     "quantile_over_time rad rate resets round scalar sgn sin sinh sort "
                     "sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time "
                     "stdvar_over_time sum_over_time tan tanh time timestamp vector year",
                     ' '));
  return kFunctions->contains(word);
}

bool IsAggregation(absl::string_view word) {
  static const auto* kAggregations = new std::set<std::string, std::less<>>{
      "avg", "bottomk", "count",    "count_values", "group",  "limit_ratio", "limitk",
      "max", "min",     "quantile", "stddev",       "stdvar", "sum",         "topk"};
  return kAggregations->contains(word);
}

// Binary operators and modifiers spelt as words.
bool IsKeyword(absl::string_view word) {
  static const auto* kKeywords = new std::set<std::string, std::less<>>{
      "and", "or", "unless", "atan2", "bool", "offset", "inf", "nan"};
  return kKeywords->contains(word);
}

// Keywords followed by a parenthesised list of label names.
bool TakesLabelList(absl::string_view word) {
  return word == "by" || word == "without" || word == "on" || word == "ignoring" ||
         word == "group_left" || word == "group_right";
}

bool IsIdentifierStart(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

bool IsIdentifierChar(char c) {
  return IsIdentifierStart(c) || absl::ascii_isdigit(static_cast<unsigned char>(c));
}

// Adds the Grafana variables named in text: $name, ${name} and ${name:format}.
void CollectVariables(absl::string_view text, std::set<std::string>* out) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) continue;
    size_t start = i + 1;
    const bool braced = text[start] == '{';
    if (braced) ++start;
    size_t end = start;
    while (end < text.size() &&
           (absl::ascii_isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
      ++end;
    }
    if (end > start) out->insert(std::string(text.substr(start, end - start)));
    i = end - 1;
  }
}

// The string literal that starts at expr[*i] (quoted with ", ' or `), unquoted; *i moves past it.
absl::StatusOr<std::string> ReadString(absl::string_view expr, size_t* i) {
  const char quote = expr[*i];
  std::string value;
  for (size_t j = *i + 1; j < expr.size(); ++j) {
    if (expr[j] == quote) {
      *i = j + 1;
      return value;
    }
    if (expr[j] == '\\' && quote != '`' && j + 1 < expr.size()) value += expr[j++];
    value += expr[j];
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unterminated string literal at offset ", *i, " in: ", expr));
}

void SkipSpaces(absl::string_view expr, size_t* i) {
  while (*i < expr.size() && absl::ascii_isspace(static_cast<unsigned char>(expr[*i]))) ++(*i);
}

std::string ReadIdentifier(absl::string_view expr, size_t* i) {
  const size_t start = *i;
  while (*i < expr.size() && IsIdentifierChar(expr[*i])) ++(*i);
  return std::string(expr.substr(start, *i - start));
}

// The matchers of the {...} block that starts at expr[*i]; *i moves past the '}'.
absl::StatusOr<std::vector<Matcher>> ReadMatchers(absl::string_view expr, size_t* i) {
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " at offset ", *i, " in label matchers of: ", expr));
  };
  std::vector<Matcher> matchers;
  ++(*i);  // '{'
  while (true) {
    SkipSpaces(expr, i);
    if (*i >= expr.size()) return bad("missing '}'");
    if (expr[*i] == '}') break;
    Matcher m;
    m.label = ReadIdentifier(expr, i);
    if (m.label.empty()) return bad("expected a label name");
    SkipSpaces(expr, i);
    for (absl::string_view op : {"=~", "!~", "!=", "="}) {
      if (absl::StartsWith(expr.substr(*i), op)) {
        m.op = std::string(op);
        *i += op.size();
        break;
      }
    }
    if (m.op.empty()) return bad(absl::StrCat("expected =, !=, =~ or !~ after ", m.label));
    SkipSpaces(expr, i);
    if (*i >= expr.size() || (expr[*i] != '"' && expr[*i] != '\'' && expr[*i] != '`')) {
      return bad(absl::StrCat("expected a quoted value for ", m.label));
    }
    absl::StatusOr<std::string> value = ReadString(expr, i);
    if (!value.ok()) return value.status();
    m.value = *std::move(value);
    matchers.push_back(std::move(m));
    SkipSpaces(expr, i);
    if (*i < expr.size() && expr[*i] == ',') {
      ++(*i);
    } else if (*i < expr.size() && expr[*i] != '}') {
      return bad("expected ',' or '}'");
    }
  }
  ++(*i);  // '}'
  return matchers;
}

// Adds the label names of the (...) list that starts at expr[*i] to out; *i moves past the ')'.
absl::Status ReadLabelList(absl::string_view expr, size_t* i, std::set<std::string>* out) {
  ++(*i);  // '('
  while (true) {
    SkipSpaces(expr, i);
    if (*i >= expr.size()) {
      return absl::InvalidArgumentError(absl::StrCat("unclosed label list in: ", expr));
    }
    if (expr[*i] == ')') break;
    const std::string label = ReadIdentifier(expr, i);
    if (label.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a label name at offset ", *i, " in: ", expr));
    }
    out->insert(label);
    SkipSpaces(expr, i);
    if (*i < expr.size() && expr[*i] == ',') {
      ++(*i);
    } else if (*i < expr.size() && expr[*i] != ')') {
      return absl::InvalidArgumentError(
          absl::StrCat("expected ',' or ')' at offset ", *i, " in: ", expr));
    }
  }
  ++(*i);  // ')'
  return absl::OkStatus();
}

// Sorts what a PromQL expression (Grafana variables included) refers to. INVALID_ARGUMENT for
// an unknown function, a malformed matcher block, label list or string, or an unclosed range.
absl::StatusOr<PromQlRefs> ScanPromQl(absl::string_view expr) {
  PromQlRefs refs;
  CollectVariables(expr, &refs.variables);
  // The function (or "" for a plain parenthesis) of each open '('; a range belongs to the
  // innermost one.
  std::vector<std::string> open_calls;
  // The selector a '{' right after a metric name belongs to.
  int selector_awaiting_matchers = -1;
  size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    const int awaiting = selector_awaiting_matchers;
    selector_awaiting_matchers = -1;
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      selector_awaiting_matchers = awaiting;
      ++i;
    } else if (c == '"' || c == '\'' || c == '`') {
      absl::StatusOr<std::string> ignored = ReadString(expr, &i);
      if (!ignored.ok()) return ignored.status();
    } else if (c == '{') {
      absl::StatusOr<std::vector<Matcher>> matchers = ReadMatchers(expr, &i);
      if (!matchers.ok()) return matchers.status();
      if (awaiting < 0) {
        refs.selectors.push_back({"", *std::move(matchers)});
      } else {
        refs.selectors[awaiting].matchers = *std::move(matchers);
      }
    } else if (c == '[') {
      const size_t close = expr.find(']', i);
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("unclosed '[' in: ", expr));
      }
      refs.ranges.push_back({open_calls.empty() ? "" : open_calls.back(),
                             std::string(expr.substr(i + 1, close - i - 1))});
      i = close + 1;
    } else if (c == '$') {
      // A variable outside a string (its name was collected above): skip it like a number.
      ++i;
      if (i < expr.size() && expr[i] == '{') {
        i = std::min(expr.find('}', i), expr.size() - 1) + 1;
      } else {
        while (i < expr.size() && IsIdentifierChar(expr[i])) ++i;
      }
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < expr.size() &&
                absl::ascii_isdigit(static_cast<unsigned char>(expr[i + 1])))) {
      // A number or a duration (0.99, 1e3, 0x1f, 5m, 1h30m).
      while (i < expr.size() && (IsIdentifierChar(expr[i]) || expr[i] == '.')) ++i;
    } else if (IsIdentifierStart(c)) {
      const std::string word = ReadIdentifier(expr, &i);
      const std::string lower = absl::AsciiStrToLower(word);
      size_t next = i;
      SkipSpaces(expr, &next);
      const bool call = next < expr.size() && expr[next] == '(';
      if (TakesLabelList(lower)) {
        if (!call) {
          if (absl::StartsWith(lower, "group_")) continue;  // the list is optional there
          return absl::InvalidArgumentError(
              absl::StrCat("'", word, "' without a label list in: ", expr));
        }
        i = next;
        const absl::Status list = ReadLabelList(expr, &i, &refs.grouping_labels);
        if (!list.ok()) return list;
      } else if (IsAggregation(lower) || IsKeyword(lower)) {
        // An aggregation's '(' may come after a by/without list; either way it opens a call.
        if (call) {
          open_calls.push_back(lower);
          i = next + 1;
        }
      } else if (call) {
        if (!IsFunction(word)) {
          return absl::InvalidArgumentError(
              absl::StrCat("unknown function '", word, "' in: ", expr));
        }
        open_calls.push_back(word);
        i = next + 1;
      } else {
        refs.selectors.push_back({word, {}});
        selector_awaiting_matchers = static_cast<int>(refs.selectors.size()) - 1;
      }
    } else {
      if (c == '(') open_calls.push_back("");
      if (c == ')' && !open_calls.empty()) open_calls.pop_back();
      ++i;
    }
  }
  return refs;
}

// OK when (), {} and [] balance and nest in expr (string literals skipped); else
// INVALID_ARGUMENT saying where.
absl::Status CheckBalanced(absl::string_view expr) {
  std::string open;
  for (size_t i = 0; i < expr.size();) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      absl::StatusOr<std::string> ignored = ReadString(expr, &i);
      if (!ignored.ok()) return ignored.status();
      continue;
    }
    if (c == '(' || c == '{' || c == '[') open += c;
    if (c == ')' || c == '}' || c == ']') {
      const char want = c == ')' ? '(' : c == '}' ? '{' : '[';
      if (open.empty() || open.back() != want) {
        return absl::InvalidArgumentError(
            absl::StrCat("unmatched '", std::string(1, c), "' at offset ", i));
      }
      open.pop_back();
    }
    ++i;
  }
  if (!open.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unclosed '", open.substr(open.size() - 1),
                                                   "' (", open.size(), " left open)"));
  }
  return absl::OkStatus();
}

// Grafana's label_values(selector, label): the selector and the label. INVALID_ARGUMENT for
// anything else (the dashboard's variables all take their values from a metric's label).
absl::StatusOr<std::pair<std::string, std::string>> ParseLabelValues(absl::string_view query) {
  query = absl::StripAsciiWhitespace(query);
  constexpr absl::string_view kPrefix = "label_values(";
  const size_t comma = query.rfind(',');
  if (!absl::StartsWith(query, kPrefix) || !absl::EndsWith(query, ")") ||
      comma == absl::string_view::npos || comma < kPrefix.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected label_values(<selector>, <label>), got: ", query));
  }
  return std::make_pair(
      std::string(absl::StripAsciiWhitespace(query.substr(kPrefix.size(), comma - kPrefix.size()))),
      std::string(absl::StripAsciiWhitespace(query.substr(comma + 1, query.size() - comma - 2))));
}

// ---- The dashboard's model ----

// Labels that Prometheus attaches when it scrapes, not esgw: job and instance from the scrape
// config, namespace and pod from Kubernetes service discovery (the relabelling of a
// ServiceMonitor or of the usual kubernetes_sd_configs). A scrape of esgw itself never has them.
bool IsTargetLabel(absl::string_view label) {
  return label == "job" || label == "instance" || label == "namespace" || label == "pod";
}

// Variables Grafana defines itself.
bool IsBuiltInVariable(absl::string_view name) {
  static const auto* kBuiltIns = new std::set<std::string, std::less<>>{
      "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
      "__from",          "__to",       "__dashboard",   "__org",   "__user",    "__timezone"};
  return kBuiltIns->contains(name);
}

// Grafana unit ids the dashboard may use; anything else is probably a typo Grafana would show
// as a plain number with a suffix.
bool IsKnownUnit(absl::string_view unit) {
  static const auto* kUnits = new std::set<std::string, std::less<>>(
      absl::StrSplit("none short s ms reqps ops cps percentunit percent bytes decbytes", ' '));
  return kUnits->contains(unit);
}

const json& DatasourceRef() {
  static const auto* kRef = new json{{"type", "prometheus"}, {"uid", "${datasource}"}};
  return *kRef;
}

std::string StringAt(const json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

int IntAt(const json& object, const char* key, int fallback = -1) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

const json& ObjectAt(const json& object, const char* key) {
  static const auto* kEmpty = new json(json::object());
  if (!object.is_object()) return *kEmpty;
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : *kEmpty;
}

const json& ArrayAt(const json& object, const char* key) {
  static const auto* kEmpty = new json(json::array());
  if (!object.is_object()) return *kEmpty;
  const auto it = object.find(key);
  return it != object.end() && it->is_array() ? *it : *kEmpty;
}

bool IsLayoutPanel(const json& panel) {
  const std::string type = StringAt(panel, "type");
  return type == "row" || type == "text";
}

// One PromQL expression of the dashboard and where it is, for failure messages.
struct Query {
  std::string where;  // panel "Title" target B, or variable "job"
  std::string expr;
  std::string legend;           // a target's legendFormat
  std::string label_of_values;  // a label_values variable's label
  absl::Status readable;        // a variable's query that is not label_values(...) says so here
};

class DashboardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::ifstream file(kDashboardPath);
    std::stringstream text;
    text << file.rdbuf();
    dashboard_ = new json(json::parse(text.str(), nullptr, /*allow_exceptions=*/false));
  }
  static void TearDownTestSuite() {
    delete dashboard_;
    dashboard_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(dashboard_->is_object())
        << kDashboardPath << " is missing or not valid JSON (a JSON object)";
  }

  // Every panel, those inside collapsed rows included.
  static std::vector<const json*> Panels() {
    std::vector<const json*> out;
    for (const json& panel : ArrayAt(*dashboard_, "panels")) {
      out.push_back(&panel);
      for (const json& inner : ArrayAt(panel, "panels")) out.push_back(&inner);
    }
    return out;
  }

  static const json& Variables() { return ArrayAt(ObjectAt(*dashboard_, "templating"), "list"); }

  // Every target's expression and every query variable's selector.
  static std::vector<Query> Queries() {
    std::vector<Query> out;
    for (const json* panel : Panels()) {
      for (const json& target : ArrayAt(*panel, "targets")) {
        out.push_back({absl::StrCat("panel \"", StringAt(*panel, "title"), "\" target ",
                                    StringAt(target, "refId")),
                       StringAt(target, "expr"),
                       StringAt(target, "legendFormat"),
                       "",
                       {}});
      }
    }
    for (const json& variable : Variables()) {
      if (StringAt(variable, "type") != "query") continue;
      Query query{absl::StrCat("variable \"", StringAt(variable, "name"), "\""), "", "", "", {}};
      absl::StatusOr<std::pair<std::string, std::string>> parsed =
          ParseLabelValues(StringAt(variable, "query"));
      if (parsed.ok()) {
        std::tie(query.expr, query.label_of_values) = *std::move(parsed);
      } else {
        query.readable = parsed.status();
      }
      out.push_back(std::move(query));
    }
    return out;
  }

  static json* dashboard_;
};

json* DashboardTest::dashboard_ = nullptr;

// ---- The tokenizer itself ----

TEST(PromQlScanTest, SortsMetricsLabelsRangesAndVariables) {
  absl::StatusOr<PromQlRefs> refs = ScanPromQl(
      "histogram_quantile(0.99, sum by (node, le) (rate(esgw_x_bucket{job=~\"$job\", "
      "a!=\"b,c}\"}[$__rate_interval]))) / on (node) group_left max(up_time) - 2 * "
      "sum without (z) (increase(other_total[1h] offset 5m)) > bool 0.5");
  ASSERT_TRUE(refs.ok()) << refs.status();
  ASSERT_EQ(refs->selectors.size(), 3u);
  EXPECT_EQ(refs->selectors[0].name, "esgw_x_bucket");
  ASSERT_EQ(refs->selectors[0].matchers.size(), 2u);
  EXPECT_EQ(refs->selectors[0].matchers[0].label, "job");
  EXPECT_EQ(refs->selectors[0].matchers[0].op, "=~");
  EXPECT_EQ(refs->selectors[0].matchers[0].value, "$job");
  EXPECT_EQ(refs->selectors[0].matchers[1].label, "a");
  EXPECT_EQ(refs->selectors[0].matchers[1].value, "b,c}");
  EXPECT_EQ(refs->selectors[1].name, "up_time");
  EXPECT_EQ(refs->selectors[2].name, "other_total");
  EXPECT_THAT(refs->grouping_labels, ::testing::ElementsAre("le", "node", "z"));
  ASSERT_EQ(refs->ranges.size(), 2u);
  EXPECT_EQ(refs->ranges[0].function, "rate");
  EXPECT_EQ(refs->ranges[0].text, "$__rate_interval");
  EXPECT_EQ(refs->ranges[1].function, "increase");
  EXPECT_EQ(refs->ranges[1].text, "1h");
  EXPECT_THAT(refs->variables, ::testing::ElementsAre("__rate_interval", "job"));
}

TEST(PromQlScanTest, RejectsWhatItCannotRead) {
  EXPECT_FALSE(ScanPromQl("histogram_quantil(0.9, x_bucket)").ok()) << "unknown function";
  EXPECT_FALSE(ScanPromQl("x{job~\"a\"}").ok()) << "bad matcher operator";
  EXPECT_FALSE(ScanPromQl("x{job=a}").ok()) << "unquoted value";
  EXPECT_FALSE(ScanPromQl("x{job=\"a}").ok()) << "unterminated string";
  EXPECT_FALSE(ScanPromQl("x{a=\"1\" b=\"2\"}").ok()) << "matchers without a comma";
  EXPECT_FALSE(ScanPromQl("sum by node (x)").ok()) << "by without a list";
  EXPECT_FALSE(ScanPromQl("sum by (a b) (x)").ok()) << "labels without a comma";
  EXPECT_FALSE(ScanPromQl("rate(x[5m)").ok()) << "unclosed range";
}

TEST(PromQlScanTest, ChecksBalance) {
  EXPECT_TRUE(CheckBalanced("sum(rate(x{a=\"(\"}[5m]))").ok());
  EXPECT_FALSE(CheckBalanced("sum(rate(x[5m])").ok());
  EXPECT_FALSE(CheckBalanced("sum(rate(x[5m)])").ok());
  EXPECT_FALSE(CheckBalanced("x}").ok());
}

TEST(PromQlScanTest, ReadsLabelValues) {
  auto parsed = ParseLabelValues("label_values(m{a=~\"$a\", b=\"x\"}, job)");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->first, "m{a=~\"$a\", b=\"x\"}");
  EXPECT_EQ(parsed->second, "job");
  EXPECT_FALSE(ParseLabelValues("label_values(job)").ok());
  EXPECT_FALSE(ParseLabelValues("query_result(up)").ok());
}

// ---- The dashboard's structure ----

TEST_F(DashboardTest, IsAGrafanaDashboardModel) {
  EXPECT_FALSE(StringAt(*dashboard_, "uid").empty()) << "a fixed uid keeps links stable";
  EXPECT_FALSE(StringAt(*dashboard_, "title").empty());
  const int schema = IntAt(*dashboard_, "schemaVersion");
  EXPECT_GE(schema, 36) << "Grafana 10/11 model";
  EXPECT_LE(schema, 41) << "Grafana 10/11 model";
  // Provisioning and import assign the database id; a fixed one would clash.
  EXPECT_TRUE(!dashboard_->contains("id") || (*dashboard_)["id"].is_null());
  EXPECT_FALSE(dashboard_->contains("__inputs")) << "the datasource is a variable, not an input";
  EXPECT_GE(Panels().size(), 10u);
}

TEST_F(DashboardTest, PanelIdsAreUniqueAndPanelsFitTheGrid) {
  std::map<int, std::string> ids;
  struct Box {
    std::string title;
    int x, y, w, h;
  };
  std::vector<Box> boxes;
  for (const json* panel : Panels()) {
    const std::string title = StringAt(*panel, "title");
    const int id = IntAt(*panel, "id");
    EXPECT_GT(id, 0) << "panel \"" << title << "\" has no integer id";
    const auto [it, inserted] = ids.emplace(id, title);
    EXPECT_TRUE(inserted) << "panels \"" << it->second << "\" and \"" << title << "\" share id "
                          << id;
    const json& grid = ObjectAt(*panel, "gridPos");
    const Box box{title, IntAt(grid, "x"), IntAt(grid, "y"), IntAt(grid, "w"), IntAt(grid, "h")};
    EXPECT_GE(box.x, 0) << "panel \"" << title << "\" gridPos.x";
    EXPECT_GE(box.y, 0) << "panel \"" << title << "\" gridPos.y";
    EXPECT_GE(box.w, 1) << "panel \"" << title << "\" gridPos.w";
    EXPECT_GE(box.h, 1) << "panel \"" << title << "\" gridPos.h";
    EXPECT_LE(box.x + box.w, 24) << "panel \"" << title << "\" is wider than the 24-column grid";
    for (const Box& other : boxes) {
      const bool overlap = box.x < other.x + other.w && other.x < box.x + box.w &&
                           box.y < other.y + other.h && other.y < box.y + box.h;
      EXPECT_FALSE(overlap) << "panels \"" << other.title << "\" and \"" << title << "\" overlap";
    }
    boxes.push_back(box);
  }
}

// No datasource uid is written into the dashboard: every reference anywhere is the variable.
void ExpectDatasourceRefs(const json& node, const std::string& path) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "datasource") {
        EXPECT_EQ(value, DatasourceRef()) << path << ".datasource must be " << DatasourceRef();
      }
      ExpectDatasourceRefs(value, absl::StrCat(path, ".", key));
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      ExpectDatasourceRefs(node[i], absl::StrCat(path, "[", i, "]"));
    }
  }
}

TEST_F(DashboardTest, EveryPanelAndQueryUsesTheDatasourceVariable) {
  const json* datasource = nullptr;
  for (const json& variable : Variables()) {
    if (StringAt(variable, "name") == "datasource") datasource = &variable;
  }
  ASSERT_NE(datasource, nullptr) << "no \"datasource\" template variable";
  EXPECT_EQ(StringAt(*datasource, "type"), "datasource");
  EXPECT_EQ(StringAt(*datasource, "query"), "prometheus");

  for (const json* panel : Panels()) {
    if (IsLayoutPanel(*panel)) continue;
    const std::string title = StringAt(*panel, "title");
    EXPECT_EQ(panel->value("datasource", json()), DatasourceRef())
        << "panel \"" << title << "\" datasource";
    EXPECT_FALSE(ArrayAt(*panel, "targets").empty()) << "panel \"" << title << "\" has no query";
    for (const json& target : ArrayAt(*panel, "targets")) {
      EXPECT_EQ(target.value("datasource", json()), DatasourceRef())
          << "panel \"" << title << "\" target " << StringAt(target, "refId") << " datasource";
    }
  }
  for (const json& variable : Variables()) {
    if (StringAt(variable, "type") != "query") continue;
    EXPECT_EQ(variable.value("datasource", json()), DatasourceRef())
        << "variable \"" << StringAt(variable, "name") << "\" datasource";
  }
  ExpectDatasourceRefs(*dashboard_, "dashboard");
}

TEST_F(DashboardTest, EveryPanelSaysWhatItShowsAndInWhatUnit) {
  for (const json* panel : Panels()) {
    const std::string title = StringAt(*panel, "title");
    EXPECT_FALSE(title.empty()) << "panel " << IntAt(*panel, "id") << " has no title";
    if (IsLayoutPanel(*panel)) continue;
    EXPECT_GE(StringAt(*panel, "description").size(), 40u)
        << "panel \"" << title << "\" needs a description of what to look for";
    const std::string unit =
        StringAt(ObjectAt(ObjectAt(*panel, "fieldConfig"), "defaults"), "unit");
    EXPECT_TRUE(IsKnownUnit(unit)) << "panel \"" << title << "\" unit \"" << unit
                                   << "\" is not set or not a unit this dashboard knows";
    for (const json& target : ArrayAt(*panel, "targets")) {
      const std::string expr = StringAt(target, "expr");
      if (absl::StrContains(expr, "histogram_quantile(")) {
        EXPECT_EQ(unit, "s") << "panel \"" << title << "\": quantiles of *_seconds histograms";
      }
      if (absl::StrContains(expr, "_bytes") && !absl::StrContains(expr, "rate(")) {
        EXPECT_EQ(unit, "bytes") << "panel \"" << title << "\"";
      }
    }
  }
}

TEST_F(DashboardTest, ExpressionsAreBalancedAndReadable) {
  for (const Query& query : Queries()) {
    ASSERT_TRUE(query.readable.ok()) << query.where << ": " << query.readable.message();
    ASSERT_FALSE(query.expr.empty()) << query.where << " has no expression";
    const absl::Status balanced = CheckBalanced(query.expr);
    EXPECT_TRUE(balanced.ok()) << query.where << ": " << balanced.message() << " in " << query.expr;
    const absl::StatusOr<PromQlRefs> refs = ScanPromQl(query.expr);
    EXPECT_TRUE(refs.ok()) << query.where << ": " << refs.status().message();
  }
}

TEST_F(DashboardTest, VariablesAreDefinedAndAppliedToEveryQuery) {
  std::set<std::string> defined;
  for (const json& variable : Variables()) defined.insert(StringAt(variable, "name"));
  // The replica filters, taken from esgw_build_info (present from the first scrape).
  for (const char* name : {"namespace", "job", "instance"}) {
    const json* variable = nullptr;
    for (const json& v : Variables()) {
      if (StringAt(v, "name") == name) variable = &v;
    }
    ASSERT_NE(variable, nullptr) << "no \"" << name << "\" template variable";
    EXPECT_EQ(StringAt(*variable, "type"), "query") << name;
    auto parsed = ParseLabelValues(StringAt(*variable, "query"));
    ASSERT_TRUE(parsed.ok()) << "variable \"" << name << "\": " << parsed.status().message();
    EXPECT_TRUE(absl::StartsWith(parsed->first, "esgw_build_info")) << name;
    EXPECT_EQ(parsed->second, name) << "variable \"" << name << "\" lists another label";
    EXPECT_TRUE(variable->value("multi", false)) << name;
    EXPECT_TRUE(variable->value("includeAll", false)) << name;
    // "All" as .* also matches series without the label (Prometheus outside Kubernetes).
    EXPECT_EQ(StringAt(*variable, "allValue"), ".*") << name;
  }

  for (const Query& query : Queries()) {
    const absl::StatusOr<PromQlRefs> refs = ScanPromQl(query.expr);
    if (!refs.ok()) continue;  // reported by ExpressionsAreBalancedAndReadable
    std::set<std::string> used = refs->variables;
    CollectVariables(query.legend, &used);
    for (const std::string& name : used) {
      EXPECT_TRUE(defined.contains(name) || IsBuiltInVariable(name))
          << query.where << " uses $" << name << ", which is not a template variable";
    }
    for (const Range& range : refs->ranges) {
      if (range.function == "rate" || range.function == "irate") {
        EXPECT_EQ(range.text, "$__rate_interval")
            << query.where << ": " << range.function << "() over [" << range.text << "]";
      }
    }
    if (!absl::StartsWith(query.where, "panel")) continue;
    // Every selector of a panel is narrowed to the chosen replicas.
    for (const Selector& selector : refs->selectors) {
      for (const char* name : {"namespace", "job", "instance"}) {
        bool filtered = false;
        for (const Matcher& m : selector.matchers) {
          filtered |= m.label == name && m.op == "=~" && m.value == absl::StrCat("$", name);
        }
        EXPECT_TRUE(filtered) << query.where << ": " << selector.name << " lacks " << name
                              << "=~\"$" << name << "\"";
      }
    }
  }
}

// ---- The dashboard against what esgw serves ----

// Label names and values per metric name, over every series of a scrape.
using SeriesIndex = std::map<std::string, std::map<std::string, std::set<std::string>>>;

absl::StatusOr<SeriesIndex> ScrapeIndex(int metrics_port) {
  auto response =
      devcluster::HttpRequestOnce(absl::StrCat("127.0.0.1:", metrics_port), "GET", "/metrics");
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::InternalError(absl::StrCat("GET /metrics: HTTP ", response->status));
  }
  absl::StatusOr<testing::PromExposition> exposition = testing::ParsePrometheusText(response->body);
  if (!exposition.ok()) return exposition.status();
  SeriesIndex index;
  for (const testing::PromSample& sample : exposition->samples) {
    auto& labels = index[sample.name];
    for (const auto& [label, value] : sample.labels) labels[label].insert(value);
  }
  return index;
}

std::string LabelNames(const std::map<std::string, std::set<std::string>>& labels) {
  std::vector<std::string> names;
  for (const auto& [name, values] : labels) names.push_back(name);
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

// Failures for every metric, label and literal label value in query that the scrape lacks.
void ExpectServed(const Query& query, const SeriesIndex& index) {
  const absl::StatusOr<PromQlRefs> refs = ScanPromQl(query.expr);
  if (!refs.ok()) return;  // reported by ExpressionsAreBalancedAndReadable
  EXPECT_FALSE(refs->selectors.empty()) << query.where << " reads no metric";
  // The metrics the expression reads and their labels, for grouping and legends.
  std::set<std::string> metrics_read;
  std::map<std::string, std::set<std::string>> labels_in_use;
  bool all_served = true;
  for (const Selector& selector : refs->selectors) {
    const auto metric = index.find(selector.name);
    if (metric == index.end()) {
      ADD_FAILURE() << query.where << ": metric " << selector.name
                    << " is not in what esgw serves on /metrics";
      all_served = false;
      continue;
    }
    metrics_read.insert(selector.name);
    for (const auto& [label, values] : metric->second) labels_in_use[label];
    for (const Matcher& m : selector.matchers) {
      if (IsTargetLabel(m.label)) continue;
      const auto label = metric->second.find(m.label);
      if (label == metric->second.end()) {
        ADD_FAILURE() << query.where << ": label " << m.label << " is on no series of "
                      << selector.name << " (its labels: " << LabelNames(metric->second) << ")";
        continue;
      }
      // A literal value compared for (in)equality must be one esgw uses.
      if ((m.op == "=" || m.op == "!=") && !absl::StrContains(m.value, "$")) {
        EXPECT_TRUE(label->second.contains(m.value))
            << query.where << ": no series of " << selector.name << " has " << m.label << "=\""
            << m.value << "\" (values seen: " << absl::StrJoin(label->second, ", ") << ")";
      }
    }
  }
  const std::set<std::string> values_label = query.label_of_values.empty()
                                                 ? std::set<std::string>{}
                                                 : std::set<std::string>{query.label_of_values};
  std::set<std::string> legend_labels;
  for (size_t open = query.legend.find("{{"); open != std::string::npos;
       open = query.legend.find("{{", open + 2)) {
    const size_t close = query.legend.find("}}", open);
    if (close == std::string::npos) break;
    legend_labels.insert(
        std::string(absl::StripAsciiWhitespace(query.legend.substr(open + 2, close - open - 2))));
  }
  if (!all_served) return;  // the labels of a missing metric are unknown
  const std::vector<std::pair<const char*, const std::set<std::string>*>> uses = {
      {"grouping label", &refs->grouping_labels},
      {"legend label", &legend_labels},
      {"label_values label", &values_label}};
  for (const auto& [kind, labels] : uses) {
    for (const std::string& label : *labels) {
      EXPECT_TRUE(label == "le" || labels_in_use.contains(label) || IsTargetLabel(label))
          << query.where << ": " << kind << " " << label << " is on no series of "
          << absl::StrJoin(metrics_read, ", ") << " (their labels: " << LabelNames(labels_in_use)
          << ")";
    }
  }
}

TEST_F(DashboardTest, MetricsAndLabelsExistInWhatEsgwServes) {
  testing::DevCluster::Options cluster_options;
  cluster_options.nodes = 3;
  cluster_options.sample_data = true;
  auto cluster = testing::DevCluster::Start(cluster_options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto server =
      testing::EsgwProcess::Start((*cluster)->SeedsFlag(), {"--metrics_listen=127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->metrics_port(), 0);
  auto gateway = esgw::v1::Gateway::NewStub((*server)->channel());
  auto admin = esgw::v1::Admin::NewStub((*server)->channel());

  // Traffic, so that the labelled series exist: searches that succeed, one that esgw refuses
  // (INVALID_ARGUMENT) and one Elasticsearch refuses (a request failure on a node), pool stats,
  // and a sniff (the last sniff's timestamp is served only after one).
  auto search = [&](const std::string& index) {
    esgw::v1::SearchRequest request;
    request.add_indices(index);
    request.set_body_json(R"({"query":{"match_all":{}},"size":1})");
    esgw::v1::SearchResponse response;
    return gateway->Search(testing::CallContext().get(), request, &response);
  };
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(search("products").ok());
  EXPECT_EQ(search("../_cluster").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(search("no-such-index").error_code(), grpc::StatusCode::NOT_FOUND);
  esgw::v1::PoolStats stats;
  EXPECT_TRUE(admin->GetPoolStats(testing::CallContext().get(), {}, &stats).ok());
  EXPECT_TRUE(admin->Sniff(testing::CallContext().get(), {}, &stats).ok());

  absl::StatusOr<SeriesIndex> index;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        index = ScrapeIndex((*server)->metrics_port());
        return index.ok() && index->contains("esgw_last_sniff_timestamp_seconds");
      },
      absl::Seconds(10), "a scrape after the first sniff"))
      << index.status();

  const std::vector<Query> queries = Queries();
  ASSERT_FALSE(queries.empty());
  for (const Query& query : queries) ExpectServed(query, *index);
}

}  // namespace
}  // namespace esgw
