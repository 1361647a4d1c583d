#include "server/grpc_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "pool/error_info.h"
#include "pool/es_error.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::testing::Contains;
using ::testing::EndsWith;
using ::testing::IsEmpty;
using ::testing::Key;
using ::testing::Not;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

// Decodes the grpc-status-details-bin payload of s.
google::rpc::Status Details(const grpc::Status& s) {
  google::rpc::Status details;
  EXPECT_TRUE(details.ParseFromString(s.error_details()));
  return details;
}

bool IsValidUtf8(const std::string& text) {
  google::rpc::Status probe;
  probe.set_message(text);
  google::rpc::Status parsed;
  // proto3 string fields are UTF-8 checked on parse.
  return parsed.ParseFromString(probe.SerializeAsString());
}

TEST(ToGrpcStatusTest, Ok) {
  const grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_details(), "");
}

TEST(ToGrpcStatusTest, EveryCodeKeepsItsNumber) {
  for (int code = 1; code <= 16; ++code) {
    const grpc::Status status =
        ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(code), "m"));
    EXPECT_EQ(static_cast<int>(status.error_code()), code);
    EXPECT_EQ(status.error_message(), "m");
  }
}

TEST(ToGrpcStatusTest, WithoutErrorInfoThereAreNoDetails) {
  const grpc::Status status = ToGrpcStatus(absl::NotFoundError("no such thing"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no such thing");
  EXPECT_EQ(status.error_details(), "");
}

TEST(ToGrpcStatusTest, ErrorInfoBecomesGoogleRpcErrorInfo) {
  const absl::Status source =
      WithErrorInfo(absl::InvalidArgumentError("indices[0]: must not be empty"),
                    {"INVALID_FIELD", {{"field", "indices[0]"}, {"hint", "name an index"}}});
  const grpc::Status status = ToGrpcStatus(source);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "indices[0]: must not be empty");

  const google::rpc::Status details = Details(status);
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(details.message(), "indices[0]: must not be empty");
  ASSERT_THAT(details.details(), SizeIs(1));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.domain(), "esgw.dev");
  EXPECT_THAT(info.metadata(),
              UnorderedElementsAre(Pair("field", "indices[0]"), Pair("hint", "name an index")));
}

TEST(ToGrpcStatusTest, ElasticsearchErrorEndToEnd) {
  EsError error;
  error.http_status = 404;
  error.type = "index_not_found_exception";
  error.reason = "no such index [logs]";
  error.index = "logs";
  const grpc::Status status = ToGrpcStatus(EsErrorToStatus(error));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(),
            "elasticsearch: index_not_found_exception: no such index [logs]");
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Details(status).details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "INDEX_NOT_FOUND_EXCEPTION");
  EXPECT_THAT(info.metadata(), Contains(Pair("es_type", "index_not_found_exception")));
  EXPECT_THAT(info.metadata(), Contains(Pair("http_status", "404")));
  EXPECT_THAT(info.metadata(), Contains(Pair("index", "logs")));
}

TEST(ToGrpcStatusTest, MetadataWithoutReasonUsesCodeName) {
  const absl::Status source = WithErrorInfo(absl::UnavailableError("down"), {"", {{"k", "v"}}});
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Details(ToGrpcStatus(source)).details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "UNAVAILABLE");
}

TEST(ToGrpcStatusTest, LongMessageIsCutOnUtf8Boundary) {
  std::string message;
  while (message.size() < 3 * kMaxGrpcMessageBytes) message += "\xE2\x82\xAC";  // U+20AC
  const grpc::Status status = ToGrpcStatus(WithErrorInfo(absl::InternalError(message), {"R", {}}));
  EXPECT_LE(status.error_message().size(), kMaxGrpcMessageBytes);
  EXPECT_THAT(status.error_message(), EndsWith("..."));
  const std::string kept = status.error_message().substr(0, status.error_message().size() - 3);
  EXPECT_EQ(kept.size() % 3, 0u);
  EXPECT_EQ(kept, message.substr(0, kept.size()));
  EXPECT_EQ(Details(status).message(), status.error_message());
}

TEST(ToGrpcStatusTest, ShortMessageIsUntouched) {
  const std::string message(kMaxGrpcMessageBytes, 'm');
  EXPECT_EQ(ToGrpcStatus(absl::InternalError(message)).error_message(), message);
}

TEST(ToGrpcStatusTest, InvalidUtf8IsRepaired) {
  const std::string message = "bad \xff\xfe bytes \xC3";
  const grpc::Status status =
      ToGrpcStatus(WithErrorInfo(absl::InternalError(message), {"R", {{"v", "\xed\xa0\x80"}}}));
  EXPECT_TRUE(IsValidUtf8(status.error_message()));
  EXPECT_THAT(status.error_message(), StartsWith("bad \xEF\xBF\xBD\xEF\xBF\xBD bytes"));
  const google::rpc::Status details = Details(status);  // Would fail to parse if not UTF-8.
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_TRUE(IsValidUtf8(info.metadata().at("v")));
}

TEST(ToGrpcStatusTest, MetadataIsBounded) {
  ErrorInfo info{"BIG", {}};
  for (int i = 0; i < 10; ++i) info.metadata["k" + std::to_string(i)] = std::string(2000, 'v');
  info.metadata["small"] = "s";
  const grpc::Status status = ToGrpcStatus(WithErrorInfo(absl::InternalError("x"), info));
  google::rpc::ErrorInfo decoded;
  ASSERT_TRUE(Details(status).details(0).UnpackTo(&decoded));
  size_t total = 0;
  for (const auto& [key, value] : decoded.metadata()) {
    EXPECT_LE(value.size(), kMaxErrorInfoValueBytes);
    total += key.size() + value.size();
  }
  EXPECT_LE(total, kMaxErrorInfoMetadataBytes);
  EXPECT_THAT(decoded.metadata(), Contains(Pair("small", "s")));
  // The whole trailer stays under gRPC's default 8 KiB metadata limit.
  EXPECT_LT(status.error_message().size() + status.error_details().size() * 4 / 3, 8192u);
}

// ---- FromGrpcStatus and round trips. ----

TEST(FromGrpcStatusTest, Ok) { EXPECT_THAT(FromGrpcStatus(grpc::Status::OK), IsOk()); }

TEST(FromGrpcStatusTest, PlainStatus) {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no"));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied, "no"));
  EXPECT_EQ(GetErrorInfo(status).reason, "");
}

TEST(FromGrpcStatusTest, GarbageDetailsAreIgnored) {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::INTERNAL, "boom", "\xff\xff\xff not proto"));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal, "boom"));
  EXPECT_EQ(GetErrorInfo(status).reason, "");
}

TEST(FromGrpcStatusTest, ForeignDomainIsIgnored) {
  google::rpc::ErrorInfo info;
  info.set_reason("QUOTA");
  info.set_domain("example.com");
  google::rpc::Status details;
  details.set_code(8);
  details.set_message("slow down");
  details.add_details()->PackFrom(info);
  const absl::Status status = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow down", details.SerializeAsString()));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted, "slow down"));
  EXPECT_EQ(GetErrorInfo(status).reason, "");
}

TEST(RoundTripTest, AbslToGrpcToAbsl) {
  const absl::Status source = WithErrorInfo(
      absl::AbortedError("elasticsearch: version_conflict_engine_exception: x"),
      {"VERSION_CONFLICT_ENGINE_EXCEPTION", {{"http_status", "409"}, {"index", "u"}}});
  const absl::Status back = FromGrpcStatus(ToGrpcStatus(source));
  EXPECT_EQ(back.code(), source.code());
  EXPECT_EQ(back.message(), source.message());
  const ErrorInfo info = GetErrorInfo(back);
  EXPECT_EQ(info.reason, "VERSION_CONFLICT_ENGINE_EXCEPTION");
  EXPECT_THAT(info.metadata, UnorderedElementsAre(Pair("http_status", "409"), Pair("index", "u")));
}

TEST(RoundTripTest, GrpcToAbslToGrpc) {
  google::rpc::ErrorInfo info;
  info.set_reason("INVALID_FIELD");
  info.set_domain("esgw.dev");
  (*info.mutable_metadata())["field"] = "body_json";
  google::rpc::Status details;
  details.set_code(3);
  details.set_message("body_json: must be a JSON object");
  details.add_details()->PackFrom(info);
  const grpc::Status source(grpc::StatusCode::INVALID_ARGUMENT, "body_json: must be a JSON object",
                            details.SerializeAsString());

  const grpc::Status back = ToGrpcStatus(FromGrpcStatus(source));
  EXPECT_EQ(back.error_code(), source.error_code());
  EXPECT_EQ(back.error_message(), source.error_message());
  const google::rpc::Status back_details = Details(back);
  EXPECT_EQ(back_details.code(), 3);
  google::rpc::ErrorInfo back_info;
  ASSERT_THAT(back_details.details(), SizeIs(1));
  ASSERT_TRUE(back_details.details(0).UnpackTo(&back_info));
  EXPECT_EQ(back_info.reason(), "INVALID_FIELD");
  EXPECT_EQ(back_info.domain(), "esgw.dev");
  EXPECT_THAT(back_info.metadata(), UnorderedElementsAre(Pair("field", "body_json")));
}

TEST(RoundTripTest, WithoutErrorInfo) {
  const absl::Status back = FromGrpcStatus(ToGrpcStatus(absl::DeadlineExceededError("late")));
  EXPECT_THAT(back, StatusIs(absl::StatusCode::kDeadlineExceeded, "late"));
  EXPECT_THAT(GetErrorInfo(back).metadata, IsEmpty());
}

}  // namespace
}  // namespace esgw
