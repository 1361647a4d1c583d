// Reads the nodes-info answer (GET /_nodes/http) of Elasticsearch 7 and 8 and OpenSearch 2 into
// the nodes esgw may send requests to: address, id, name and roles, master-only nodes removed.
// Thread-safe: free functions over values; nothing is retained between calls.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pool/node.h"
#include "pool/transport.h"

namespace esgw {

struct SniffResult {
  // In the order the body lists them.
  std::vector<NodeInfo> nodes = {};
  // Nodes without an http section or publish_address (HTTP disabled on them).
  int skipped_no_http = 0;
  // Master-eligible nodes with no data, ingest or ml role: they should not serve requests.
  int skipped_master_only = 0;
  // Nodes whose publish_address is not a string, or could not be read.
  int skipped_bad_address = 0;
  // Nodes without roles (every version esgw speaks to lists them, if only as []): what they are
  // is unknown.
  int skipped_no_roles = 0;
  // Ids of the nodes skipped for no http, a bad address or no roles: listed, so still in the
  // cluster, but with nothing esgw can use. A sniff neither adds nor removes them: a node of the
  // pool with one of these ids keeps its place.
  std::vector<std::string> unusable_ids = {};
};

// Parses a _nodes/http body. scheme ("http" or "https") comes from the seeds, since nodes do not
// report it; use_hostname picks the host name over the IP when publish_address is
// "host/ip:port". Returns INTERNAL with ErrorInfo reason BAD_ES_RESPONSE when the body is not
// JSON, has no "nodes" object, or a node entry is not an object or has a name or roles of the
// wrong type.
absl::StatusOr<SniffResult> ParseNodesHttp(absl::string_view body, absl::string_view scheme,
                                           bool use_hostname);

// Reads a publish_address: "ip:port", "host/ip:port", "[v6]:port" or "host/[v6]:port" (IPv6
// hosts are returned without brackets). use_hostname as above; a form without a host name, or
// with an empty one, gives the IP. INVALID_ARGUMENT for anything else, a port outside 1-65535,
// or a host to dial with a character no host name or address has (so that nothing from a
// sniff can put user info, a path or a query into the URLs esgw builds).
absl::StatusOr<Endpoint> ParsePublishAddress(absl::string_view address, absl::string_view scheme,
                                             bool use_hostname);

// True for a node that is master-eligible ("master", "cluster_manager" or "voting_only") and has
// no data* (data, data_hot, data_content, ...), ingest or ml role. Nodes with no roles at all
// are coordinating-only and are kept.
bool IsMasterOnly(const std::vector<std::string>& roles);

}  // namespace esgw
