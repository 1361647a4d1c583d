#include "client/cli/views.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/cli/format.h"
#include "client/cli/json_text.h"
#include "client/cli/terminal.h"
#include "client/latency_histogram.h"

namespace esgw::cli {
namespace {

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::Duration FromDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string Fit(absl::string_view line, int width, bool unicode) {
  return absl::StrCat(Ellipsize(line, width, unicode), "\n");
}

std::string Colored(absl::string_view text, const char* style, bool color) {
  if (!color) return std::string(text);
  return absl::StrCat("\x1b[", style, "m", text, "\x1b[0m");
}

// "12s ago" for a past time, "never" for an unset one.
std::string Ago(const google::protobuf::Timestamp& ts, absl::Time now) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "never";
  return absl::StrCat(ShortDuration(now - FromTimestamp(ts)), " ago");
}

std::string Score(double score) { return absl::StrFormat("%.3f", score); }

// The node's latency histogram over what the table covers: since esgw started, or since the
// previous sample when there is one for the same address.
std::optional<v1::LatencyHistogram> TableLatency(const v1::NodeStats& node,
                                                 const v1::PoolStats* previous) {
  if (!node.has_latency()) return std::nullopt;
  if (previous != nullptr) {
    for (const v1::NodeStats& before : previous->nodes()) {
      if (before.address() == node.address() && before.has_latency()) {
        return client::HistogramDifference(node.latency(), before.latency());
      }
    }
  }
  return node.latency();
}

}  // namespace

std::string RoleLetters(const v1::NodeStats& node) {
  if (node.roles().empty()) return node.node_id().empty() ? "?" : "-";
  // Elasticsearch's _cat/nodes letters.
  static const std::pair<const char*, char> kLetters[] = {
      {"data_cold", 'c'},    {"data", 'd'},
      {"data_frozen", 'f'},  {"data_hot", 'h'},
      {"ingest", 'i'},       {"ml", 'l'},
      {"master", 'm'},       {"remote_cluster_client", 'r'},
      {"data_content", 's'}, {"transform", 't'},
      {"voting_only", 'v'},  {"data_warm", 'w'}};
  std::set<char> letters;
  for (const std::string& role : node.roles()) {
    for (const auto& [name, letter] : kLetters) {
      if (role == name) letters.insert(letter);
    }
  }
  return letters.empty() ? "-" : std::string(letters.begin(), letters.end());
}

std::string LatencyQuantileText(const std::optional<v1::LatencyHistogram>& histogram, double q) {
  if (!histogram.has_value()) return "?";
  if (histogram->count() == 0) return "-";
  const std::optional<client::Quantile> quantile = client::EstimateQuantile(*histogram, q);
  if (!quantile.has_value()) return "?";
  const std::string text = Millis(quantile->seconds * 1000);
  return quantile->above_last_bound ? absl::StrCat(">", text) : text;
}

std::string PoolTable(const v1::PoolStats& stats, const Table::RenderOptions& options,
                      absl::Time now, int max_rows, const v1::PoolStats* previous) {
  Table table({{.header = "ADDRESS", .shrinkable = true, .min_width = 12, .shrink_order = 1},
               {.header = "ROLES", .shrinkable = true, .min_width = 5},
               {.header = "STATE"},
               {.header = "INFLIGHT", .align = Table::Align::kRight},
               {.header = "REQUESTS", .align = Table::Align::kRight},
               {.header = "FAILED", .align = Table::Align::kRight},
               {.header = "P50", .align = Table::Align::kRight},
               {.header = "P99", .align = Table::Align::kRight},
               {.header = "CONNS", .align = Table::Align::kRight}});
  int shown = 0;
  for (const v1::NodeStats& node : stats.nodes()) {
    if (shown++ == max_rows) break;
    std::string state;
    const char* style = "";
    switch (node.state()) {
      case v1::NODE_STATE_ALIVE:
        state = "alive";
        style = kGreen;
        // Slow-start after a revival: its share of traffic is still ramping up.
        if (node.weight() > 0 && node.weight() < 0.995) {
          absl::StrAppend(&state, " ", static_cast<int>(node.weight() * 100), "%");
          style = kYellow;
        }
        break;
      case v1::NODE_STATE_DEAD: {
        state = "dead";
        style = kRed;
        const absl::Duration left = FromTimestamp(node.dead_until()) - now;
        if (node.has_dead_until() && left > absl::ZeroDuration()) {
          absl::StrAppend(&state, " ",
                          ShortDuration(absl::Seconds(std::ceil(absl::ToDoubleSeconds(left)))));
        }
        break;
      }
      case v1::NODE_STATE_PROBING:
        state = "probing";
        style = kYellow;
        break;
      default:
        state = "?";
    }
    const std::optional<v1::LatencyHistogram> latency = TableLatency(node, previous);
    table.AddRow(
        {node.address(), RoleLetters(node), Table::Cell(state, style),
         CompactCount(node.in_flight()), CompactCount(node.requests_total()),
         Table::Cell(CompactCount(node.failures_total()), node.failures_total() > 0 ? kRed : ""),
         LatencyQuantileText(latency, 0.5), LatencyQuantileText(latency, 0.99),
         CompactCount(node.connections_opened_total() - node.connections_closed_total())});
  }
  std::string out = table.Render(options);
  if (stats.nodes_size() == 0) absl::StrAppend(&out, "(no nodes in the pool)\n");
  if (stats.nodes_size() > max_rows) {
    absl::StrAppend(&out, "... and ", stats.nodes_size() - max_rows, " more nodes\n");
  }
  return out;
}

std::string PoolFooter(const v1::PoolStats& stats, int width, bool unicode, absl::Time now) {
  std::string first = absl::StrCat("pool ", stats.pool_mode().empty() ? "?" : stats.pool_mode(),
                                   ", selector ", stats.selector().empty() ? "?" : stats.selector(),
                                   ", ", Thousands(stats.retries_total()), " retries");
  std::string second = absl::StrCat("sniffs ", Thousands(stats.sniffs_total()), " (",
                                    Thousands(stats.sniff_failures_total()), " failed), last ",
                                    Ago(stats.last_sniff_time(), now));
  if (!stats.last_sniff_outcome().empty())
    absl::StrAppend(&second, ": ", stats.last_sniff_outcome());
  return Fit(first, width, unicode) + Fit(second, width, unicode);
}

std::string HealthText(const v1::HealthReport& report, const Table::RenderOptions& options,
                       absl::Time now) {
  const bool serving = report.status() == v1::GATEWAY_STATUS_SERVING;
  const std::string status = serving ? "SERVING" : "NOT_SERVING";
  std::string out;
  // The status word is coloured after fitting, so colour never counts against the width.
  std::string gateway =
      Ellipsize(absl::StrCat("gateway  ", status, "  esgw ", report.version(), ", up ",
                             ShortDuration(FromDuration(report.uptime()))),
                options.width, options.unicode);
  if (options.color && gateway.size() >= 9 + status.size()) {
    gateway = absl::StrCat("gateway  ", Colored(status, serving ? kGreen : kRed, true),
                           gateway.substr(9 + status.size()));
  }
  absl::StrAppend(&out, gateway, "\n");
  const v1::PoolSummary& pool = report.pool();
  std::string pool_line =
      absl::StrCat("pool     ", pool.alive(), " alive, ", pool.dead(), " dead, ", pool.probing(),
                   " probing; last sniff ", Ago(pool.last_sniff_time(), now));
  if (!pool.last_sniff_outcome().empty())
    absl::StrAppend(&pool_line, ": ", pool.last_sniff_outcome());
  absl::StrAppend(&out, Fit(pool_line, options.width, options.unicode));
  const v1::ClusterHealth& cluster = report.cluster();
  if (!cluster.error().empty()) {
    absl::StrAppend(&out, Fit(absl::StrCat("cluster  unknown: ", cluster.error()), options.width,
                              options.unicode));
  } else {
    absl::StrAppend(&out, Fit(absl::StrCat("cluster  ", cluster.cluster_name(), "  ",
                                           cluster.status(), ", ", cluster.number_of_nodes(),
                                           " nodes (", cluster.number_of_data_nodes(), " data)"),
                              options.width, options.unicode));
    absl::StrAppend(&out, Fit(absl::StrCat("shards   ", cluster.active_shards(), " active (",
                                           cluster.active_primary_shards(), " primary), ",
                                           cluster.relocating_shards(), " relocating, ",
                                           cluster.initializing_shards(), " initializing, ",
                                           cluster.unassigned_shards(), " unassigned"),
                              options.width, options.unicode));
  }
  return out;
}

std::string SearchText(const v1::SearchResponse& response, const std::vector<std::string>& fields,
                       const Table::RenderOptions& options) {
  std::string out;
  std::string total = "no total";
  if (response.has_total()) {
    total = absl::StrCat(Thousands(response.total().value()),
                         response.total().relation() == v1::TotalHits::RELATION_GTE ? "+" : "",
                         response.total().value() == 1 ? " hit" : " hits");
  }
  std::string summary = total;
  if (response.hits_size() > 0 &&
      (!response.has_total() || response.total().value() != response.hits_size())) {
    absl::StrAppend(&summary, " (showing ", response.hits_size(), ")");
  }
  absl::StrAppend(&summary, " in ", response.took_ms(), " ms");
  if (response.timed_out()) absl::StrAppend(&summary, ", TIMED OUT (partial results)");
  if (response.shards().failed() > 0) {
    absl::StrAppend(&summary, ", ", response.shards().failed(), " shards failed");
  }
  if (!response.served_by().empty())
    absl::StrAppend(&summary, ", served by ", response.served_by());
  absl::StrAppend(&out, Fit(summary, options.width, options.unicode));

  if (response.hits_size() > 0) {
    std::set<std::string> indices;
    bool any_score = false;
    bool any_sort = false;
    for (const v1::Hit& hit : response.hits()) {
      indices.insert(hit.index());
      any_score |= hit.has_score();
      any_sort |= !hit.sort_json().empty();
    }
    std::vector<Table::Column> columns;
    const bool show_index = indices.size() > 1;
    // The source gives up its width first, then sort values, then ids and indices.
    if (show_index) {
      columns.push_back({.header = "INDEX", .shrinkable = true, .min_width = 8, .shrink_order = 2});
    }
    columns.push_back({.header = "ID", .shrinkable = true, .min_width = 8, .shrink_order = 2});
    if (any_score) columns.push_back({.header = "SCORE", .align = Table::Align::kRight});
    if (any_sort) {
      columns.push_back({.header = "SORT", .shrinkable = true, .min_width = 6, .shrink_order = 1});
    }
    if (fields.empty()) {
      columns.push_back({.header = "SOURCE", .shrinkable = true, .min_width = 10});
    } else {
      for (const std::string& field : fields) {
        columns.push_back({.header = field, .shrinkable = true, .min_width = 6});
      }
    }
    Table table(columns);
    for (const v1::Hit& hit : response.hits()) {
      std::vector<Table::Cell> row;
      if (show_index) row.emplace_back(hit.index());
      row.emplace_back(hit.id());
      if (any_score) row.emplace_back(hit.has_score() ? Score(hit.score()) : "-");
      if (any_sort) row.emplace_back(CompactJson(hit.sort_json()));
      if (fields.empty()) {
        row.emplace_back(CompactJson(hit.source_json()));
      } else {
        for (const std::string& field : fields) {
          row.emplace_back(JsonField(hit.source_json(), field).value_or(""));
        }
      }
      table.AddRow(std::move(row));
    }
    absl::StrAppend(&out, table.Render(options));
  }
  if (!response.aggregations_json().empty()) {
    absl::StrAppend(&out, "\n", AggregationsText(response.aggregations_json(), options));
  }
  return out;
}

std::string AggregationsText(const std::string& aggregations_json,
                             const Table::RenderOptions& options) {
  simdjson::dom::parser parser;
  simdjson::dom::object aggregations;
  if (parser.parse(aggregations_json).get_object().get(aggregations) != simdjson::SUCCESS) {
    return Fit(absl::StrCat("aggregations: ", CompactJson(aggregations_json)), options.width,
               options.unicode);
  }
  std::string out;
  for (const auto agg : aggregations) {
    const std::string name(agg.key);
    simdjson::dom::array buckets;
    simdjson::dom::element value;
    if (agg.value["buckets"].get_array().get(buckets) == simdjson::SUCCESS) {
      Table table({{.header = "KEY", .shrinkable = true, .min_width = 8},
                   {.header = "DOC_COUNT", .align = Table::Align::kRight}});
      for (const simdjson::dom::element bucket : buckets) {
        simdjson::dom::element key;
        int64_t count = 0;
        std::string key_text;
        if (bucket["key_as_string"].get(key) == simdjson::SUCCESS ||
            bucket["key"].get(key) == simdjson::SUCCESS) {
          std::string_view text;
          key_text = key.get_string().get(text) == simdjson::SUCCESS ? std::string(text)
                                                                     : simdjson::minify(key);
        }
        if (bucket["doc_count"].get_int64().get(count) != simdjson::SUCCESS) count = 0;
        table.AddRow({key_text, Thousands(count)});
      }
      absl::StrAppend(&out,
                      Fit(absl::StrCat("aggregation ", name, ":"), options.width, options.unicode),
                      table.Render(options));
    } else if (agg.value["value"].get(value) == simdjson::SUCCESS) {
      std::string_view text;
      const std::string shown = value.get_string().get(text) == simdjson::SUCCESS
                                    ? std::string(text)
                                    : simdjson::minify(value);
      absl::StrAppend(&out, Fit(absl::StrCat("aggregation ", name, ": ", shown), options.width,
                                options.unicode));
    } else {
      absl::StrAppend(&out,
                      Fit(absl::StrCat("aggregation ", name, ": ", simdjson::minify(agg.value)),
                          options.width, options.unicode));
    }
  }
  return out;
}

std::string DocumentText(const v1::GetResponse& response, int width, bool unicode) {
  std::string header =
      absl::StrCat(response.index(), "/", response.id(), "  version ", response.version(),
                   ", seq_no ", response.seq_no(), ", primary_term ", response.primary_term());
  if (!response.routing().empty()) absl::StrAppend(&header, ", routing ", response.routing());
  if (!response.served_by().empty()) {
    absl::StrAppend(&header, ", served by ", response.served_by());
  }
  std::string out = Fit(header, width, unicode);
  // The document itself is printed whole (made printable line by line), not cut: it is what
  // the user asked for.
  for (absl::string_view line : absl::StrSplit(PrettyJson(response.source_json()), '\n')) {
    absl::StrAppend(&out, Printable(line), "\n");
  }
  return out;
}

}  // namespace esgw::cli
