#include "pool/sniff_parser.h"

#include <simdjson.h>

#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pool/error_info.h"

namespace esgw {
namespace {

absl::Status BadResponse(absl::string_view what) {
  return WithErrorInfo(absl::InternalError(absl::StrCat(
                           "unreadable _nodes/http response from Elasticsearch: ", what)),
                       {"BAD_ES_RESPONSE", {}});
}

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Letters, digits, '.', '-' and '_' (host names and IPv4), plus ':' and '%' inside brackets
// (IPv6 with a zone).
bool IsDialableHost(absl::string_view host, bool ipv6) {
  for (const char c : host) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') {
      continue;
    }
    if (ipv6 && (c == ':' || c == '%')) continue;
    return false;
  }
  return true;
}

}  // namespace

bool IsMasterOnly(const std::vector<std::string>& roles) {
  bool master_eligible = false;
  bool serves = false;
  for (const std::string& role : roles) {
    if (role == "master" || role == "cluster_manager" || role == "voting_only") {
      master_eligible = true;
    } else if (absl::StartsWith(role, "data") || role == "ingest" || role == "ml") {
      serves = true;
    }
  }
  return master_eligible && !serves;
}

absl::StatusOr<Endpoint> ParsePublishAddress(absl::string_view address, absl::string_view scheme,
                                             bool use_hostname) {
  auto invalid = [address](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("publish_address \"", address, "\" ", why));
  };
  absl::string_view hostname;
  absl::string_view rest = address;
  // Elasticsearch prints "name/ip:port" when the node was given a host name.
  if (const size_t slash = address.find('/'); slash != absl::string_view::npos) {
    hostname = address.substr(0, slash);
    rest = address.substr(slash + 1);
  }
  absl::string_view ip;
  absl::string_view port_text;
  const bool ipv6 = absl::StartsWith(rest, "[");
  if (ipv6) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return invalid("has a malformed [IPv6]:port");
    }
    ip = rest.substr(1, close - 1);
    port_text = rest.substr(close + 2);
    // Every IPv6 address has a ':', and only a host with one is dialled in brackets
    // (Endpoint::HostPort): "[%1]:9200" would be dialled as "%1:9200".
    if (!absl::StrContains(ip, ':')) return invalid("has a malformed [IPv6]:port");
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) return invalid("has no port");
    ip = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    if (absl::StrContains(ip, ':')) return invalid("has an IPv6 address without brackets");
  }
  if (ip.empty()) return invalid("has no address");
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
    return invalid("has no valid port");
  }
  const bool by_name = use_hostname && !hostname.empty();
  if (!IsDialableHost(by_name ? hostname : ip, ipv6 && !by_name)) {
    return invalid("has a host with a character no host name or address has");
  }
  Endpoint endpoint;
  endpoint.scheme = std::string(scheme);
  endpoint.host = std::string(by_name ? hostname : ip);
  endpoint.port = port;
  return endpoint;
}

absl::StatusOr<SniffResult> ParseNodesHttp(absl::string_view body, absl::string_view scheme,
                                           bool use_hostname) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  // parse() copies into a padded buffer; bodies here are small.
  if (auto error = parser.parse(body.data(), body.size()).get(doc); error) {
    return BadResponse(simdjson::error_message(error));
  }
  simdjson::dom::object nodes;
  if (doc["nodes"].get(nodes) != simdjson::SUCCESS) return BadResponse("no \"nodes\" object");

  SniffResult result;
  for (simdjson::dom::key_value_pair entry : nodes) {
    simdjson::dom::object node;
    if (entry.value.get(node) != simdjson::SUCCESS) {
      return BadResponse(absl::StrCat("node ", View(entry.key), " is not an object"));
    }
    NodeInfo info;
    info.node_id = std::string(entry.key);
    std::string_view name;
    if (auto error = node["name"].get(name); error == simdjson::SUCCESS) {
      info.name = std::string(name);
    } else if (error != simdjson::NO_SUCH_FIELD) {
      return BadResponse(absl::StrCat("node ", info.node_id, " has a name that is not a string"));
    }
    simdjson::dom::array roles;
    bool has_roles = false;
    if (auto error = node["roles"].get(roles); error == simdjson::SUCCESS) {
      has_roles = true;
      for (simdjson::dom::element role : roles) {
        std::string_view text;
        if (role.get(text) != simdjson::SUCCESS) {
          return BadResponse(
              absl::StrCat("node ", info.node_id, " has a role that is not a string"));
        }
        info.roles.emplace_back(text);
      }
    } else if (error != simdjson::NO_SUCH_FIELD) {
      return BadResponse(absl::StrCat("node ", info.node_id, " has roles that are not a list"));
    }

    simdjson::dom::object http;
    simdjson::dom::element address;
    if (node["http"].get(http) != simdjson::SUCCESS ||
        http["publish_address"].get(address) != simdjson::SUCCESS) {
      ++result.skipped_no_http;
      result.unusable_ids.push_back(info.node_id);
      continue;
    }
    std::string_view publish_address;
    if (address.get(publish_address) != simdjson::SUCCESS) {
      ++result.skipped_bad_address;
      result.unusable_ids.push_back(info.node_id);
      continue;
    }
    if (!has_roles) {
      ++result.skipped_no_roles;
      result.unusable_ids.push_back(info.node_id);
      continue;
    }
    if (IsMasterOnly(info.roles)) {
      ++result.skipped_master_only;
      continue;
    }
    absl::StatusOr<Endpoint> endpoint =
        ParsePublishAddress(View(publish_address), scheme, use_hostname);
    if (!endpoint.ok()) {
      ++result.skipped_bad_address;
      result.unusable_ids.push_back(info.node_id);
      continue;
    }
    info.endpoint = *std::move(endpoint);
    result.nodes.push_back(std::move(info));
  }
  return result;
}

}  // namespace esgw
