// The auth file, token and certificate lookups, and index pattern coverage.
#include "server/auth_policy.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/index_patterns.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;

std::string Sha256Hex(absl::string_view token) {
  const std::array<uint8_t, 32> digest = AuthPolicy::Sha256(token);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

TEST(IndexPatternsTest, ConcreteNamesMatchLikeGlobs) {
  EXPECT_TRUE(PatternCovers("products", "products"));
  EXPECT_FALSE(PatternCovers("products", "products2"));
  EXPECT_TRUE(PatternCovers("logs-*", "logs-2024.01.01"));
  EXPECT_TRUE(PatternCovers("logs-*", "logs-"));
  EXPECT_FALSE(PatternCovers("logs-*", "logs"));
  EXPECT_FALSE(PatternCovers("logs-*", "metrics-logs-1"));
  EXPECT_TRUE(PatternCovers("*-prod", "orders-prod"));
  EXPECT_TRUE(PatternCovers("a*b*c", "axxbyyc"));
  EXPECT_FALSE(PatternCovers("a*b*c", "axxcyyb"));
  EXPECT_TRUE(PatternCovers("*", "anything"));
}

TEST(IndexPatternsTest, AWildcardExpressionNeedsAPatternCoveringAllItMatches) {
  EXPECT_TRUE(PatternCovers("logs-*", "logs-2024-*"));
  EXPECT_TRUE(PatternCovers("logs-*", "logs-*"));
  EXPECT_TRUE(PatternCovers("*", "*"));
  EXPECT_TRUE(PatternCovers("*", "logs-*"));
  EXPECT_FALSE(PatternCovers("logs-*", "log*")) << "log* also matches logbook";
  EXPECT_FALSE(PatternCovers("logs-*", "*"));
  EXPECT_FALSE(PatternCovers("logs-*-x", "logs-*"));
  EXPECT_FALSE(PatternCovers("products", "product*"));
  EXPECT_TRUE(PatternCovers("*-prod", "orders-*-prod"));
  EXPECT_FALSE(PatternCovers("*-prod", "orders-*"));
}

TEST(IndexPatternsTest, TargetsAllOfThemCoveredExclusionsIgnored) {
  const std::vector<std::string> patterns = {"products", "logs-*"};
  auto uncovered = [&](std::vector<absl::string_view> targets) {
    return FirstUncoveredTarget(patterns, targets);
  };
  EXPECT_EQ(uncovered({"products"}), "");
  EXPECT_EQ(uncovered({"products", "logs-2024*"}), "");
  EXPECT_EQ(uncovered({"products", "secrets"}), "secrets");
  EXPECT_EQ(uncovered({}), "_all") << "no target is every index";
  EXPECT_EQ(uncovered({"_all"}), "_all");
  EXPECT_EQ(uncovered({"*"}), "*");
  EXPECT_EQ(uncovered({"logs-*", "-logs-secret"}), "") << "an exclusion only narrows";
  EXPECT_EQ(uncovered({"-secrets"}), "-secrets") << "the first target is never an exclusion";
  EXPECT_EQ(FirstUncoveredTarget(std::vector<std::string>{"*"}, {}), "");
  EXPECT_TRUE(IndexAllowed(patterns, "logs-a"));
  EXPECT_FALSE(IndexAllowed(patterns, "log"));
}

constexpr char kFile[] = R"(
principals:
  - name: storefront
    token_sha256: %s
    permissions: [read]
    indices: [products, "catalog-*"]
  - name: ingest
    token_sha256: %s
    permissions: [read, write]
    indices: ["logs-*"]
    max_concurrent_rpcs: 8
    max_ingest_streams: 2
  - name: ops
    client_cert_subject: "CN=ops,O=Example"
    permissions: [admin]
)";

std::string File() {
  std::string text = kFile;
  text.replace(text.find("%s"), 2, Sha256Hex("storefront-token"));
  text.replace(text.find("%s"), 2, Sha256Hex("ingest-token"));
  return text;
}

TEST(AuthPolicyTest, ParsesPrincipalsAndFindsThemByTokenOrSubject) {
  const PrincipalLimits defaults{.max_concurrent_rpcs = 100, .max_ingest_streams = 10};
  absl::StatusOr<std::shared_ptr<const AuthPolicy>> policy =
      AuthPolicy::Parse(File(), "auth.yaml", defaults);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_FALSE((*policy)->open());
  ASSERT_EQ((*policy)->principals().size(), 3u);

  const Principal* storefront = (*policy)->FindByToken("storefront-token");
  ASSERT_NE(storefront, nullptr);
  EXPECT_EQ(storefront->name, "storefront");
  EXPECT_TRUE(storefront->Has(Permission::kRead));
  EXPECT_FALSE(storefront->Has(Permission::kWrite));
  EXPECT_EQ(storefront->indices, (std::vector<std::string>{"products", "catalog-*"}));
  EXPECT_EQ(storefront->limits.max_concurrent_rpcs, 100) << "the default";

  const Principal* ingest = (*policy)->FindByToken("ingest-token");
  ASSERT_NE(ingest, nullptr);
  EXPECT_EQ(ingest->limits.max_concurrent_rpcs, 8);
  EXPECT_EQ(ingest->limits.max_ingest_streams, 2);

  EXPECT_EQ((*policy)->FindByToken("storefront-token "), nullptr);
  EXPECT_EQ((*policy)->FindByToken(""), nullptr);
  const Principal* ops = (*policy)->FindBySubject("CN=ops,O=Example");
  ASSERT_NE(ops, nullptr);
  EXPECT_TRUE(ops->Has(Permission::kAdmin));
  EXPECT_EQ((*policy)->FindBySubject("CN=ops"), nullptr);
  EXPECT_EQ((*policy)->FindBySubject(""), nullptr);
}

TEST(AuthPolicyTest, OpenAccessIsOneAnonymousPrincipalWithEverything) {
  const std::shared_ptr<const AuthPolicy> open = AuthPolicy::Open({.max_concurrent_rpcs = 5});
  ASSERT_TRUE(open->open());
  ASSERT_EQ(open->principals().size(), 1u);
  const Principal& anonymous = open->principals()[0];
  EXPECT_EQ(anonymous.name, "anonymous");
  EXPECT_TRUE(anonymous.Has(Permission::kRead) && anonymous.Has(Permission::kWrite) &&
              anonymous.Has(Permission::kAdmin));
  EXPECT_TRUE(IndexAllowed(anonymous.indices, "*"));
  EXPECT_EQ(anonymous.limits.max_concurrent_rpcs, 5);
}

TEST(AuthPolicyTest, MistakesAreNamedWithTheirLine) {
  const std::string hash = Sha256Hex("t");
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"principals: []", "at least one principal"},
      {"users: []", "unknown key 'users'"},
      {"- a\n- b", "must be a mapping"},
      {"principals:\n  - name: a\n    token_sha256: abc\n    permissions: [read]\n    indices: [x]",
       "line 3: principals[0].token_sha256: must be 64 hex digits"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash,
                    "\n    permissions: [read, delete]\n    indices: [x]"),
       "'delete' is not a permission"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash,
                    "\n    permissions: [read]"),
       "principal 'a': read and write need indices"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash,
                    "\n    permissions: [read]\n    indices: [Logs]"),
       "principals[0].indices[0]: index name must be lowercase"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash,
                    "\n    permissions: [read]\n    indices: [_all]"),
       "write '*' for every index"},
      {"principals:\n  - name: a\n    permissions: [admin]",
       "needs token_sha256 or client_cert_subject"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash),
       "principal 'a': needs permissions"},
      {absl::StrCat("principals:\n  - token_sha256: ", hash, "\n    permissions: [admin]"),
       "principals[0]: needs a name"},
      {absl::StrCat("principals:\n  - name: a b\n    token_sha256: ", hash,
                    "\n    permissions: [admin]"),
       "must be 1-128 of letters"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash,
                    "\n    permissions: [admin]\n    tokn: x"),
       "unknown key 'tokn'"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash,
                    "\n    permissions: [admin]\n    max_concurrent_rpcs: 0"),
       "max_concurrent_rpcs: must be a whole number of at least 1"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash,
                    "\n    permissions: [admin]\n  - name: a\n    client_cert_subject: CN=a\n"
                    "    permissions: [admin]"),
       "principal 'a': the name is used twice"},
      {absl::StrCat("principals:\n  - name: a\n    token_sha256: ", hash,
                    "\n    permissions: [admin]\n  - name: b\n    token_sha256: ", hash,
                    "\n    permissions: [admin]"),
       "principal 'b': token_sha256 is another principal's too"},
      {"principals:\n  - &p {name: a, client_cert_subject: CN=a, permissions: [admin]}\n  - *p",
       "aliases are not allowed"},
      {"principals: [", "auth_file 'f.yaml' line"},
      // yaml-cpp reads a stray ',' as an endless run of empty documents.
      {",", "line 1: YAML syntax error"},
      {"# principals follow\n,\n", "line 2: YAML syntax error"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::shared_ptr<const AuthPolicy>> policy =
        AuthPolicy::Parse(c.text, "f.yaml", {});
    ASSERT_FALSE(policy.ok()) << c.text;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(policy.status().message(), HasSubstr(c.error)) << c.text;
    EXPECT_THAT(policy.status().message(), HasSubstr("auth_file 'f.yaml'"));
  }
  EXPECT_THAT(AuthPolicy::Load("/nonexistent/auth.yaml", {}).status().message(),
              HasSubstr("cannot read '/nonexistent/auth.yaml'"));
}

}  // namespace
}  // namespace esgw
