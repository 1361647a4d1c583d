#include "pool/es_error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "pool/error_info.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::esgw::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Key;
using ::testing::Not;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StartsWith;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(ESGW_SOURCE_DIR) + "/tests/pool/fixtures/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// ---- One test per body shape. ----

TEST(ParseEsErrorTest, IndexNotFound) {
  const EsError error = ParseEsError(404, Fixture("index_not_found.json"));
  EXPECT_EQ(error.http_status, 404);
  EXPECT_EQ(error.type, "index_not_found_exception");
  EXPECT_EQ(error.reason, "no such index [orders-2024]");
  EXPECT_EQ(error.index, "orders-2024");
  EXPECT_EQ(error.root_cause_type, "index_not_found_exception");
  // The root cause has the same type: it adds nothing as a cause.
  EXPECT_EQ(error.caused_by_type, "");
  EXPECT_EQ(error.caused_by_reason, "");
}

TEST(ParseEsErrorTest, ParsingExceptionWithCausedBy) {
  const EsError error = ParseEsError(400, Fixture("parsing_exception.json"));
  EXPECT_EQ(error.type, "parsing_exception");
  EXPECT_EQ(error.reason, "unknown query [matchh]");
  EXPECT_EQ(error.caused_by_type, "named_object_not_found_exception");
  EXPECT_EQ(error.caused_by_reason, "[1:21] unknown field [matchh]");
  EXPECT_EQ(error.index, "");
}

TEST(ParseEsErrorTest, XContentParseException) {
  const EsError error = ParseEsError(400, Fixture("x_content_parse_exception.json"));
  EXPECT_EQ(error.type, "x_content_parse_exception");
  EXPECT_EQ(error.reason, "[3:5] [bool] unknown field [shuold]");
}

TEST(ParseEsErrorTest, VersionConflict) {
  const EsError error = ParseEsError(409, Fixture("version_conflict.json"));
  EXPECT_EQ(error.type, "version_conflict_engine_exception");
  EXPECT_THAT(error.reason, HasSubstr("version conflict, document already exists"));
  EXPECT_EQ(error.index, "users");
}

TEST(ParseEsErrorTest, Rejected429) {
  const EsError error = ParseEsError(429, Fixture("rejected_429.json"));
  EXPECT_EQ(error.type, "es_rejected_execution_exception");
  EXPECT_THAT(error.reason, StartsWith("rejected execution of coordinating operation"));
  EXPECT_TRUE(IsBackpressure(error));
}

TEST(ParseEsErrorTest, Rejected503UnderSearchPhaseFailure) {
  const EsError error = ParseEsError(503, Fixture("rejected_503.json"));
  EXPECT_EQ(error.type, "search_phase_execution_exception");
  EXPECT_EQ(error.reason, "all shards failed");
  EXPECT_EQ(error.root_cause_type, "es_rejected_execution_exception");
  EXPECT_EQ(error.caused_by_type, "es_rejected_execution_exception");
  EXPECT_TRUE(IsBackpressure(error));
}

TEST(ParseEsErrorTest, Security401) {
  const EsError error = ParseEsError(401, Fixture("security_401.json"));
  EXPECT_EQ(error.type, "security_exception");
  EXPECT_EQ(error.reason, "missing authentication credentials for REST request [/logs/_search]");
}

TEST(ParseEsErrorTest, Security403) {
  const EsError error = ParseEsError(403, Fixture("security_403.json"));
  EXPECT_EQ(error.type, "security_exception");
  EXPECT_THAT(error.reason, HasSubstr("is unauthorized for user [reporter]"));
}

TEST(ParseEsErrorTest, SearchPhaseExecutionWithCausedBy) {
  const EsError error = ParseEsError(400, Fixture("search_phase_execution.json"));
  EXPECT_EQ(error.type, "search_phase_execution_exception");
  EXPECT_EQ(error.reason, "all shards failed");
  EXPECT_EQ(error.caused_by_type, "number_format_exception");
  EXPECT_EQ(error.caused_by_reason, "For input string: \"abc\"");
  EXPECT_EQ(error.root_cause_type, "query_shard_exception");
  EXPECT_EQ(error.index, "metrics");  // From the root cause.
}

TEST(ParseEsErrorTest, RootCauseStandsInForMissingCausedBy) {
  const EsError error = ParseEsError(
      400,
      R"({"error":{"root_cause":[{"type":"query_shard_exception","reason":"bad query"}],)"
      R"("type":"search_phase_execution_exception","reason":"all shards failed"},"status":400})");
  EXPECT_EQ(error.caused_by_type, "query_shard_exception");
  EXPECT_EQ(error.caused_by_reason, "bad query");
}

TEST(ParseEsErrorTest, OldStyleStringError) {
  const EsError error = ParseEsError(404, Fixture("old_style_string.json"));
  EXPECT_EQ(error.type, "");
  EXPECT_EQ(error.reason, "IndexMissingException[[legacy] missing]");
}

TEST(ParseEsErrorTest, NginxHtml502UsesTitle) {
  const EsError error = ParseEsError(502, Fixture("nginx_502.html"));
  EXPECT_EQ(error.http_status, 502);
  EXPECT_EQ(error.type, "");
  EXPECT_EQ(error.reason, "502 Bad Gateway");
}

TEST(ParseEsErrorTest, HtmlWithoutTitleGivesSanitisedPrefix) {
  const EsError error =
      ParseEsError(503, "<html>\r\n<body>\tdown for\n\nmaintenance</body></html>");
  EXPECT_EQ(error.reason, "<html> <body> down for maintenance</body></html>");
}

TEST(ParseEsErrorTest, EmptyBody) {
  const EsError error = ParseEsError(503, "");
  EXPECT_EQ(error.http_status, 503);
  EXPECT_EQ(error.type, "");
  EXPECT_EQ(error.reason, "");
  EXPECT_FALSE(IsBackpressure(error));
}

TEST(ParseEsErrorTest, WhitespaceBodyIsEmpty) {
  EXPECT_EQ(ParseEsError(500, " \r\n\t ").reason, "");
}

TEST(ParseEsErrorTest, TruncatedJsonFallsBackToPrefix) {
  const std::string body = Fixture("truncated.json");
  const EsError error = ParseEsError(404, body);
  EXPECT_EQ(error.type, "");
  EXPECT_EQ(error.reason, body);
  // A longer truncated body is cut to the prefix bound.
  const EsError longer = ParseEsError(404, body + std::string(500, 'z'));
  EXPECT_EQ(longer.reason,
            body + std::string(kMaxEsErrorBodyPrefixBytes - 3 - body.size(), 'z') + "...");
}

TEST(ParseEsErrorTest, GarbageIsBoundedAndSanitised) {
  std::string body = "\x01\x02oops\x7f\xff\xfe";
  body += std::string(1000, 'x');
  const EsError error = ParseEsError(500, body);
  EXPECT_EQ(error.type, "");
  EXPECT_THAT(error.reason, StartsWith("oops \xEF\xBF\xBD\xEF\xBF\xBDxxx"));
  EXPECT_LE(error.reason.size(), kMaxEsErrorBodyPrefixBytes);
  for (char c : error.reason) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

TEST(ParseEsErrorTest, CutsOnUtf8Boundary) {
  // 150 two-byte characters: 300 bytes, more than the prefix bound.
  std::string body;
  for (int i = 0; i < 150; ++i) body += "\xC3\xA9";
  const EsError error = ParseEsError(500, body);
  ASSERT_THAT(error.reason, SizeIs(::testing::Le(kMaxEsErrorBodyPrefixBytes)));
  ASSERT_THAT(error.reason, ::testing::EndsWith("..."));
  const std::string kept = error.reason.substr(0, error.reason.size() - 3);
  EXPECT_EQ(kept.size() % 2, 0u);
  EXPECT_EQ(kept, body.substr(0, kept.size()));
}

TEST(ParseEsErrorTest, LongReasonIsBounded) {
  const std::string reason(5000, 'r');
  const EsError error =
      ParseEsError(400, R"({"error":{"type":"illegal_argument_exception","reason":")" + reason +
                            R"("},"status":400})");
  EXPECT_THAT(error.reason, SizeIs(kMaxEsErrorFieldBytes));
  EXPECT_THAT(error.reason, ::testing::EndsWith("..."));
}

TEST(ParseEsErrorTest, NullReasonAndWrongTypesAreTolerated) {
  const EsError error =
      ParseEsError(500, R"({"error":{"type":"null_pointer_exception","reason":null,"index":7,)"
                        R"("caused_by":"not an object"},"status":500})");
  EXPECT_EQ(error.type, "null_pointer_exception");
  EXPECT_EQ(error.reason, "");
  EXPECT_EQ(error.index, "");
  EXPECT_EQ(error.caused_by_type, "");
}

TEST(ParseEsErrorTest, ResourceIdListNamesEveryIndex) {
  const EsError error = ParseEsError(
      404, R"({"error":{"type":"index_not_found_exception","reason":"no such index [a]",)"
           R"("resource.type":"index_or_alias","resource.id":["a","b"]},"status":404})");
  EXPECT_EQ(error.index, "a,b");
}

TEST(ParseEsErrorTest, ProxyMessageJson) {
  const EsError error = ParseEsError(403, R"({"Message":"User: anonymous is not authorized"})");
  EXPECT_EQ(error.type, "");
  EXPECT_EQ(error.reason, "User: anonymous is not authorized");
}

TEST(ParseEsErrorTest, UnrelatedJsonGivesPrefix) {
  EXPECT_EQ(ParseEsError(500, R"({"acknowledged":false})").reason, R"({"acknowledged":false})");
}

TEST(ParseEsErrorTest, BodyStatusFillsMissingHttpStatus) {
  EXPECT_EQ(ParseEsError(0, Fixture("index_not_found.json")).http_status, 404);
  EXPECT_EQ(ParseEsError(500, Fixture("index_not_found.json")).http_status, 500);
}

TEST(ParseEsErrorTest, PlainText) {
  // OpenSearch's security plugin answers 401 with a plain-text body.
  EXPECT_EQ(ParseEsError(401, "Unauthorized").reason, "Unauthorized");
}

// ---- Backpressure (DESIGN.md section 3). ----

TEST(IsBackpressureTest, OnlyFor429AndRejected503) {
  EsError error;
  error.http_status = 429;
  EXPECT_TRUE(IsBackpressure(error));  // Even without a body, e.g. a circuit breaker via a proxy.
  error.http_status = 503;
  EXPECT_FALSE(IsBackpressure(error));
  error.type = "es_rejected_execution_exception";
  EXPECT_TRUE(IsBackpressure(error));
  error.type = "cluster_block_exception";
  EXPECT_FALSE(IsBackpressure(error));
  error.caused_by_type = "es_rejected_execution_exception";
  EXPECT_TRUE(IsBackpressure(error));
  error.http_status = 500;
  EXPECT_FALSE(IsBackpressure(error));
}

// ---- One test per row of the status mapping (DESIGN.md section 4). ----

struct MappingRow {
  int http_status;
  absl::StatusCode code;
};

class EsErrorToStatusMappingTest : public ::testing::TestWithParam<MappingRow> {};

TEST_P(EsErrorToStatusMappingTest, MapsHttpStatus) {
  EsError error;
  error.http_status = GetParam().http_status;
  const absl::Status status = EsErrorToStatus(error);
  EXPECT_EQ(status.code(), GetParam().code) << "HTTP " << GetParam().http_status;
  EXPECT_EQ(GetErrorInfo(status).metadata["http_status"], std::to_string(GetParam().http_status));
}

INSTANTIATE_TEST_SUITE_P(Rows, EsErrorToStatusMappingTest,
                         ::testing::Values(MappingRow{400, absl::StatusCode::kInvalidArgument},
                                           MappingRow{401, absl::StatusCode::kUnauthenticated},
                                           MappingRow{403, absl::StatusCode::kPermissionDenied},
                                           MappingRow{404, absl::StatusCode::kNotFound},
                                           MappingRow{408, absl::StatusCode::kDeadlineExceeded},
                                           MappingRow{409, absl::StatusCode::kAborted},
                                           MappingRow{413, absl::StatusCode::kResourceExhausted},
                                           MappingRow{414, absl::StatusCode::kResourceExhausted},
                                           MappingRow{429, absl::StatusCode::kResourceExhausted},
                                           MappingRow{431, absl::StatusCode::kResourceExhausted},
                                           MappingRow{405, absl::StatusCode::kFailedPrecondition},
                                           MappingRow{410, absl::StatusCode::kFailedPrecondition},
                                           MappingRow{415, absl::StatusCode::kFailedPrecondition},
                                           MappingRow{500, absl::StatusCode::kInternal},
                                           MappingRow{501, absl::StatusCode::kInternal},
                                           MappingRow{502, absl::StatusCode::kUnavailable},
                                           MappingRow{503, absl::StatusCode::kUnavailable},
                                           MappingRow{504, absl::StatusCode::kUnavailable},
                                           MappingRow{507, absl::StatusCode::kInternal},
                                           MappingRow{0, absl::StatusCode::kUnknown},
                                           MappingRow{302, absl::StatusCode::kUnknown}),
                         [](const ::testing::TestParamInfo<MappingRow>& row) {
                           return "Http" + std::to_string(row.param.http_status);
                         });

// ---- Message and ErrorInfo. ----

TEST(EsErrorToStatusTest, MessageAndErrorInfoFromTypedError) {
  const absl::Status status = EsErrorToStatus(ParseEsError(404, Fixture("index_not_found.json")));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound,
                               "elasticsearch: index_not_found_exception: no such index "
                               "[orders-2024]"));
  const ErrorInfo info = GetErrorInfo(status);
  EXPECT_EQ(info.reason, "INDEX_NOT_FOUND_EXCEPTION");
  EXPECT_THAT(info.metadata,
              AllOf(Contains(Pair("es_type", "index_not_found_exception")),
                    Contains(Pair("es_reason", "no such index [orders-2024]")),
                    Contains(Pair("http_status", "404")), Contains(Pair("index", "orders-2024")),
                    Not(Contains(Key("caused_by_type")))));
}

TEST(EsErrorToStatusTest, CausedByGoesIntoMetadata) {
  const absl::Status status =
      EsErrorToStatus(ParseEsError(400, Fixture("search_phase_execution.json")));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "elasticsearch: search_phase_execution_exception: all shards failed"));
  const ErrorInfo info = GetErrorInfo(status);
  EXPECT_EQ(info.reason, "SEARCH_PHASE_EXECUTION_EXCEPTION");
  EXPECT_THAT(info.metadata,
              AllOf(Contains(Pair("caused_by_type", "number_format_exception")),
                    Contains(Pair("caused_by_reason", "For input string: \"abc\""))));
}

TEST(EsErrorToStatusTest, UntypedErrorUsesStatusLine) {
  const absl::Status status = EsErrorToStatus(ParseEsError(502, Fixture("nginx_502.html")));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kUnavailable, "elasticsearch: HTTP 502 Bad Gateway"));
  const ErrorInfo info = GetErrorInfo(status);
  EXPECT_EQ(info.reason, "HTTP_502");
  EXPECT_THAT(info.metadata, Not(Contains(Key("es_type"))));
}

TEST(EsErrorToStatusTest, UntypedErrorKeepsReason) {
  const absl::Status status = EsErrorToStatus(ParseEsError(404, Fixture("old_style_string.json")));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound,
                               "elasticsearch: HTTP 404 Not Found: IndexMissingException[[legacy] "
                               "missing]"));
  EXPECT_EQ(GetErrorInfo(status).reason, "HTTP_404");
}

TEST(EsErrorToStatusTest, EmptyBody) {
  const absl::Status status = EsErrorToStatus(ParseEsError(504, ""));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kUnavailable, "elasticsearch: HTTP 504 Gateway Timeout"));
  EXPECT_THAT(GetErrorInfo(status).metadata, Not(Contains(Key("es_reason"))));
}

TEST(EsErrorToStatusTest, Security) {
  EXPECT_THAT(EsErrorToStatus(ParseEsError(401, Fixture("security_401.json"))),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("security_exception")));
  EXPECT_THAT(EsErrorToStatus(ParseEsError(403, Fixture("security_403.json"))),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("[reporter]")));
}

TEST(EsErrorToStatusTest, MessageIsBounded) {
  EsError error;
  error.http_status = 400;
  error.type = "illegal_argument_exception";
  error.reason = std::string(kMaxEsErrorFieldBytes, 'r');
  const absl::Status status = EsErrorToStatus(error);
  EXPECT_THAT(std::string(status.message()), SizeIs(kMaxEsErrorFieldBytes));
  EXPECT_THAT(std::string(status.message()),
              StartsWith("elasticsearch: illegal_argument_exception: rrr"));
}

TEST(EsErrorToStatusTest, OddTypeCharactersBecomeUnderscores) {
  EsError error;
  error.http_status = 400;
  error.type = "weird.type-name";
  EXPECT_EQ(GetErrorInfo(EsErrorToStatus(error)).reason, "WEIRD_TYPE_NAME");
  EXPECT_THAT(GetErrorInfo(EsErrorToStatus(error)).metadata, Not(IsEmpty()));
}

}  // namespace
}  // namespace esgw
