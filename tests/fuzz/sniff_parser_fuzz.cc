// Fuzz target: any bytes as a _nodes/http body read by ParseNodesHttp, and as a publish_address
// read by ParsePublishAddress (pool/sniff_parser.h), for both schemes and both host choices.
// Invariants: a failure is INTERNAL with ErrorInfo BAD_ES_RESPONSE (an address: INVALID_ARGUMENT);
// every node returned has the seeds' scheme, a port in 1-65535 and a host that is a host name or
// an IP literal (nothing that would change the URL it is put in) and that reads back as the same
// endpoint; master-only nodes are never returned; every string is valid UTF-8.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "pool/error_info.h"
#include "pool/sniff_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// Letters, digits, '.', '-' and '_' (a host name or IPv4 address), or, for an IPv6 literal
// (which has a ':'), hex digits, ':', '.' and a '%' zone id of letters and digits.
bool IsHostOrIp(absl::string_view host) {
  if (host.empty()) return false;
  for (const char c : host) {
    const bool plain =
        absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    if (!plain && c != ':' && c != '%') return false;
  }
  if (absl::StrContains(host, '%') && !absl::StrContains(host, ':')) return false;
  return true;
}

void CheckEndpoint(const esgw::Endpoint& endpoint, absl::string_view scheme) {
  ESGW_FUZZ_CHECK(endpoint.scheme == scheme);
  ESGW_FUZZ_CHECK(endpoint.port >= 1 && endpoint.port <= 65535);
  ESGW_FUZZ_CHECK_NOTE(IsHostOrIp(endpoint.host), endpoint.host);
  // What stats show and what is dialled reads back as the same endpoint.
  const absl::StatusOr<esgw::Endpoint> again =
      esgw::ParsePublishAddress(endpoint.HostPort(), scheme, /*use_hostname=*/false);
  ESGW_FUZZ_CHECK_NOTE(again.ok(), endpoint.HostPort());
  ESGW_FUZZ_CHECK_NOTE(*again == endpoint, endpoint.HostPort());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  for (const absl::string_view scheme : {"http", "https"}) {
    for (const bool use_hostname : {false, true}) {
      const absl::StatusOr<esgw::SniffResult> result =
          esgw::ParseNodesHttp(input, scheme, use_hostname);
      if (!result.ok()) {
        esgw::fuzz::CheckError(result.status(), absl::StatusCode::kInternal, "BAD_ES_RESPONSE");
      } else {
        ESGW_FUZZ_CHECK(result->skipped_no_http >= 0 && result->skipped_master_only >= 0 &&
                        result->skipped_bad_address >= 0);
        // Each node entry takes at least "":{} of the body.
        const size_t entries = result->nodes.size() + result->skipped_no_http +
                               result->skipped_master_only + result->skipped_bad_address;
        ESGW_FUZZ_CHECK(entries <= size / 5);
        for (const esgw::NodeInfo& node : result->nodes) {
          CheckEndpoint(node.endpoint, scheme);
          ESGW_FUZZ_CHECK(!esgw::IsMasterOnly(node.roles));
          ESGW_FUZZ_CHECK(!node.seed);
          ESGW_FUZZ_CHECK(esgw::fuzz::IsUtf8(node.node_id));
          ESGW_FUZZ_CHECK(esgw::fuzz::IsUtf8(node.name));
          for (const std::string& role : node.roles) ESGW_FUZZ_CHECK(esgw::fuzz::IsUtf8(role));
        }
      }

      const absl::StatusOr<esgw::Endpoint> address =
          esgw::ParsePublishAddress(input, scheme, use_hostname);
      if (!address.ok()) {
        esgw::fuzz::CheckError(address.status(), absl::StatusCode::kInvalidArgument, "");
      } else {
        CheckEndpoint(*address, scheme);
        // The endpoint comes from the address: its host is a part of it.
        ESGW_FUZZ_CHECK(absl::StrContains(input, address->host));
      }
    }
  }
  return 0;
}
