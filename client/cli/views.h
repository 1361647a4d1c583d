// Human renderings of esgw's answers for esgw-cli: the pool table (stats, sniff, watch), the
// health report, search hits and aggregations, a fetched document. Each returns text whose
// lines fit the width it is given; untrusted text (documents, node names, errors) is made
// printable first.
// Thread-safe: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/cli/table.h"
#include "esgw/v1/admin.pb.h"
#include "esgw/v1/gateway.pb.h"

namespace esgw::cli {

// Node roles in Elasticsearch's _cat/nodes letters ("dim" for data, ingest, master); "-" for a
// coordinating-only node, "?" for a seed that has not been sniffed (roles unknown).
std::string RoleLetters(const v1::NodeStats& node);

// The node table: ADDRESS, ROLES, STATE, INFLIGHT, REQUESTS, FAILED, P50 and P99 (latency
// percentiles), CONNS (open now). At most max_rows nodes, then a line saying how many more
// there are. The percentiles cover the node's whole history, or, given the previous sample,
// only the requests since it.
std::string PoolTable(const v1::PoolStats& stats, const Table::RenderOptions& options,
                      absl::Time now, int max_rows = 1 << 30,
                      const v1::PoolStats* previous = nullptr);
// A latency percentile for a table cell: "2.5ms"; ">60.00s" above the last bucket; "-" with no
// requests; "?" when the histogram is missing or malformed.
std::string LatencyQuantileText(const std::optional<v1::LatencyHistogram>& histogram, double q);
// Two lines under the table: pool mode, selector, retries; sniffs and the last sniff's outcome.
std::string PoolFooter(const v1::PoolStats& stats, int width, bool unicode, absl::Time now);

std::string HealthText(const v1::HealthReport& report, const Table::RenderOptions& options,
                       absl::Time now);

// Hits as a table (INDEX when several indices answered, ID, SCORE or SORT, then SOURCE or the
// requested fields), a line with the totals above it, and the aggregations below.
std::string SearchText(const v1::SearchResponse& response, const std::vector<std::string>& fields,
                       const Table::RenderOptions& options);
// Top-level aggregations: bucket aggregations as KEY / DOC_COUNT tables, metrics as
// "name: value", anything else as compact JSON.
std::string AggregationsText(const std::string& aggregations_json,
                             const Table::RenderOptions& options);

// A found document: a line with index, id, version, seq_no, primary term and the node, then the
// source, indented.
std::string DocumentText(const v1::GetResponse& response, int width, bool unicode);

}  // namespace esgw::cli
