#include "pool/sniff_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "pool/error_info.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(ESGW_SOURCE_DIR) + "/tests/pool/fixtures/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Addresses(const SniffResult& r) {
  std::vector<std::string> out;
  for (const NodeInfo& n : r.nodes) out.push_back(n.endpoint.BaseUrl());
  return out;
}

// ---- publish_address forms ----

TEST(ParsePublishAddressTest, IpPort) {
  auto e = ParsePublishAddress("10.0.0.5:9200", "http", false);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->host, "10.0.0.5");
  EXPECT_EQ(e->port, 9200);
  EXPECT_EQ(e->scheme, "http");
}

TEST(ParsePublishAddressTest, HostSlashIpPortPicksIpOrHostAsConfigured) {
  auto by_ip = ParsePublishAddress("es-0.es.svc/10.0.0.5:9201", "https", false);
  ASSERT_THAT(by_ip, IsOk());
  EXPECT_EQ(by_ip->BaseUrl(), "https://10.0.0.5:9201");
  auto by_name = ParsePublishAddress("es-0.es.svc/10.0.0.5:9201", "https", true);
  ASSERT_THAT(by_name, IsOk());
  EXPECT_EQ(by_name->BaseUrl(), "https://es-0.es.svc:9201");
  // No name before the slash: the IP, whatever the setting.
  auto empty_name = ParsePublishAddress("/10.0.0.5:9201", "http", true);
  ASSERT_THAT(empty_name, IsOk());
  EXPECT_EQ(empty_name->host, "10.0.0.5");
  // The plain form always gives what it has.
  EXPECT_EQ(ParsePublishAddress("10.0.0.5:9200", "http", true)->host, "10.0.0.5");
}

TEST(ParsePublishAddressTest, BracketedIpv6) {
  auto e = ParsePublishAddress("[fd00::1]:9200", "http", false);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->host, "fd00::1");
  EXPECT_EQ(e->HostPort(), "[fd00::1]:9200");
  auto named = ParsePublishAddress("es-1/[fd00::1]:9200", "http", false);
  ASSERT_THAT(named, IsOk());
  EXPECT_EQ(named->host, "fd00::1");
}

TEST(ParsePublishAddressTest, RejectsMalformed) {
  for (const char* bad : {"10.0.0.5", "10.0.0.5:", "10.0.0.5:0", "10.0.0.5:70000", ":9200",
                          "[fd00::1]9200", "[fd00::1", "fd00::1:9200", "10.0.0.5:92x0", ""}) {
    EXPECT_THAT(ParsePublishAddress(bad, "http", false),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(ParsePublishAddressTest, RejectsHostsThatCouldSteerTheUrl) {
  // User info, a path, a query, a fragment or spaces would change what a URL built from the
  // host points at.
  for (const char* bad : {"10.0.0.5@evil.example:80", "not an address:9200", "10.0.0.5#x:9200",
                          "10.0.0.5?x:9200", "[fd00::1@x]:9200", "es%x/10.0.0.5:9200"}) {
    EXPECT_THAT(ParsePublishAddress(bad, "http", true),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host")))
        << bad;
  }
  // The host name is only checked when it is the one dialled.
  EXPECT_THAT(ParsePublishAddress("bad name/10.0.0.5:9200", "http", false), IsOk());
  EXPECT_THAT(ParsePublishAddress("bad name/10.0.0.5:9200", "http", true),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePublishAddress("[fe80::1%eth0]:9200", "http", false), IsOk());
}

// ---- the role table ----

TEST(IsMasterOnlyTest, RoleTable) {
  using Roles = std::vector<std::string>;
  EXPECT_TRUE(IsMasterOnly(Roles{"master"}));
  EXPECT_TRUE(IsMasterOnly(Roles{"master", "remote_cluster_client", "transform"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"master", "data_hot"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"master", "data"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"master", "ingest"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"master", "ml"}));
  EXPECT_TRUE(IsMasterOnly(Roles{"master", "voting_only"}));
  EXPECT_TRUE(IsMasterOnly(Roles{"voting_only"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"master", "voting_only", "data_content"}));
  EXPECT_FALSE(IsMasterOnly(Roles{}));  // coordinating-only
  EXPECT_FALSE(IsMasterOnly(Roles{"ml"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"ml", "remote_cluster_client"}));
  EXPECT_TRUE(IsMasterOnly(Roles{"cluster_manager"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"cluster_manager", "data"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"data_frozen"}));
  EXPECT_FALSE(IsMasterOnly(Roles{"remote_cluster_client"}));
}

// ---- whole bodies ----

TEST(ParseNodesHttpTest, Elasticsearch7) {
  auto r = ParseNodesHttp(Fixture("nodes_es7.json"), "http", false);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(Addresses(*r), ElementsAre("http://10.1.0.20:9200", "http://10.1.0.30:9200"));
  EXPECT_EQ(r->skipped_master_only, 1);
  EXPECT_EQ(r->skipped_no_http, 1);
  const NodeInfo& data = r->nodes[0];
  EXPECT_EQ(data.node_id, "Dt7dAtA00bbbbbbbbbbbbb");
  EXPECT_EQ(data.name, "logs-data-0");
  EXPECT_EQ(data.roles.size(), 10u);
  EXPECT_FALSE(data.seed);
  EXPECT_TRUE(r->nodes[1].roles.empty());
}

TEST(ParseNodesHttpTest, Elasticsearch8) {
  auto r = ParseNodesHttp(Fixture("nodes_es8.json"), "https", false);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(Addresses(*r), ElementsAre("https://192.168.5.11:9200", "https://192.168.5.12:9200",
                                         "https://[fd00:5::13]:9200", "https://[fd00:5::16]:9200",
                                         "https://192.168.5.17:9200"));
  EXPECT_EQ(r->skipped_master_only, 2);  // dedicated master and the voting-only tiebreaker
  EXPECT_EQ(r->skipped_no_http, 0);

  auto by_name = ParseNodesHttp(Fixture("nodes_es8.json"), "https", true);
  ASSERT_THAT(by_name, IsOk());
  EXPECT_EQ(by_name->nodes[0].endpoint.host, "es-hot-0.es.svc");
  EXPECT_EQ(by_name->nodes[3].endpoint.host, "es-warm-0.es.svc");
  EXPECT_EQ(by_name->nodes[1].endpoint.host, "192.168.5.12");
}

TEST(ParseNodesHttpTest, OpenSearch2) {
  auto r = ParseNodesHttp(Fixture("nodes_opensearch2.json"), "http", false);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(Addresses(*r), ElementsAre("http://172.20.0.3:9200", "http://172.20.0.4:9200"));
  EXPECT_EQ(r->skipped_master_only, 2);  // cluster_manager-only and the legacy "master" name
  EXPECT_EQ(r->nodes[0].name, "os-node-1");
}

TEST(ParseNodesHttpTest, BadAddressIsSkippedAndCounted) {
  auto r = ParseNodesHttp(
      R"({"nodes":{"a":{"roles":[],"http":{"publish_address":"nowhere"}},
                   "b":{"roles":[],"http":{"publish_address":"10.0.0.9:9200"}},
                   "c":{"roles":[],"http":{}}}})",
      "http", false);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->nodes.size(), 1u);
  EXPECT_EQ(r->skipped_bad_address, 1);
  EXPECT_EQ(r->skipped_no_http, 1);
  EXPECT_THAT(r->unusable_ids, ElementsAre("a", "c"));
}

TEST(ParseNodesHttpTest, APublishAddressOfTheWrongTypeIsABadAddress) {
  auto r = ParseNodesHttp(
      R"({"nodes":{"a":{"roles":[],"http":{"publish_address":9200}},
                   "b":{"roles":[],"http":{"publish_address":["10.0.0.9:9200"]}}}})",
      "http", false);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->nodes.empty());
  EXPECT_EQ(r->skipped_bad_address, 2);
  EXPECT_THAT(r->unusable_ids, ElementsAre("a", "b"));
}

TEST(ParseNodesHttpTest, NodesWithoutRolesAreUnusable) {
  // Every version esgw speaks to lists roles (a coordinating-only node as []); without them
  // what the node is cannot be known.
  auto r = ParseNodesHttp(
      R"({"nodes":{"x":{"http":{"publish_address":"10.0.0.9:9200"}},
                   "y":{"roles":[],"http":{"publish_address":"10.0.0.8:9200"}}}})",
      "http", false);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(Addresses(*r), ElementsAre("http://10.0.0.8:9200"));
  EXPECT_EQ(r->skipped_no_roles, 1);
  EXPECT_THAT(r->unusable_ids, ElementsAre("x"));
}

TEST(ParseNodesHttpTest, EmptyNodesIsNotAnError) {
  auto r = ParseNodesHttp(R"({"_nodes":{"total":0},"nodes":{}})", "http", false);
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->nodes.empty());
}

TEST(ParseNodesHttpTest, UnreadableBodiesAreInternalBadEsResponse) {
  for (const char* body :
       {"", "<html>502 Bad Gateway</html>", "{\"nodes\":", "[]", R"({"cluster_name":"x"})",
        R"({"nodes":[]})", R"({"nodes":{"a":5}})", R"({"nodes":{"a":{"roles":"data"}}})",
        R"({"nodes":{"a":{"roles":[1]}}})", R"({"nodes":{"a":{"name":7}}})"}) {
    auto r = ParseNodesHttp(body, "http", false);
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInternal)) << body;
    EXPECT_EQ(GetErrorInfo(r.status()).reason, "BAD_ES_RESPONSE") << body;
  }
}

}  // namespace
}  // namespace esgw
