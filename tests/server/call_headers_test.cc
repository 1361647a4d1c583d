#include "server/call_headers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::esgw::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Pair;

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Client metadata as gRPC hands it over; the strings must outlive the map.
class Metadata {
 public:
  Metadata(std::initializer_list<std::pair<std::string, std::string>> entries) : entries_(entries) {
    for (const auto& [key, value] : entries_) {
      map_.emplace(grpc::string_ref(key), grpc::string_ref(value));
    }
  }
  const ClientMetadata& map() const { return map_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  ClientMetadata map_;
};

std::vector<std::pair<std::string, std::string>> Forward(const Metadata& metadata,
                                                         OpaqueIdPolicy policy = {}) {
  HttpRequest request;
  AddForwardedHeaders(metadata.map(), policy, &request);
  return request.headers;
}

OpaqueIdPolicy NoId() { return {.mode = OpaqueIdPolicy::Mode::kNone}; }

TEST(CallHeadersTest, ValidTraceparentAndTracestatePassThrough) {
  const Metadata metadata{{"traceparent", kTraceparent}, {"tracestate", "congo=t61rcWkgMzE"}};
  EXPECT_THAT(Forward(metadata, NoId()), ElementsAre(Pair("traceparent", kTraceparent),
                                                     Pair("tracestate", "congo=t61rcWkgMzE")));
}

TEST(CallHeadersTest, MalformedTraceparentIsDroppedWithItsTracestate) {
  for (const std::string bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",             // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",          // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",          // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",          // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",          // forbidden version
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx",       // v00 has no tail
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",          // wrong separators
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX: y",  // injection
       }) {
    const Metadata metadata{{"traceparent", bad}, {"tracestate", "a=b"}};
    EXPECT_THAT(Forward(metadata, NoId()), IsEmpty()) << bad;
  }
}

TEST(CallHeadersTest, LaterTraceContextVersionsMayCarryMoreFields) {
  const std::string v1 = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra";
  EXPECT_THAT(Forward(Metadata{{"traceparent", v1}}, NoId()), ElementsAre(Pair("traceparent", v1)));
}

TEST(CallHeadersTest, ClientOpaqueIdWinsOverThePolicy) {
  HttpRequest request;
  const Metadata metadata{{"x-opaque-id", "checkout-service"}};
  EXPECT_EQ(AddForwardedHeaders(metadata.map(), {}, &request), "checkout-service");
  EXPECT_THAT(request.headers, ElementsAre(Pair("X-Opaque-Id", "checkout-service")));
}

TEST(CallHeadersTest, PerRequestIdsAreFreshEachTime) {
  HttpRequest a, b;
  const Metadata none{};
  const std::string first = AddForwardedHeaders(none.map(), {}, &a);
  const std::string second = AddForwardedHeaders(none.map(), {}, &b);
  EXPECT_THAT(first, MatchesRegex("esgw-[0-9a-f]{16}"));
  EXPECT_NE(first, second);
  EXPECT_THAT(a.headers, ElementsAre(Pair("X-Opaque-Id", first)));
}

TEST(CallHeadersTest, FixedAndNonePolicies) {
  const Metadata none{};
  EXPECT_THAT(Forward(none, NoId()), IsEmpty());
  EXPECT_THAT(Forward(none, {.mode = OpaqueIdPolicy::Mode::kFixed, .fixed = "esgw-prod"}),
              ElementsAre(Pair("X-Opaque-Id", "esgw-prod")));
}

TEST(CallHeadersTest, UnsafeClientOpaqueIdIsReplacedNotForwarded) {
  const Metadata metadata{{"x-opaque-id", "a\r\nAuthorization: x"}};
  const auto headers = Forward(metadata);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_THAT(headers[0].second, MatchesRegex("esgw-[0-9a-f]{16}"));
  EXPECT_THAT(Forward(Metadata{{"x-opaque-id", std::string(257, 'a')}}, NoId()), IsEmpty());
}

TEST(CallHeadersTest, PolicyParsing) {
  const auto per_request = OpaqueIdPolicy::Parse("per_request", "--es_opaque_id");
  ASSERT_TRUE(per_request.ok()) << per_request.status();
  EXPECT_EQ(per_request->mode, OpaqueIdPolicy::Mode::kPerRequest);
  const auto none = OpaqueIdPolicy::Parse("none", "--es_opaque_id");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->mode, OpaqueIdPolicy::Mode::kNone);
  const auto fixed = OpaqueIdPolicy::Parse("search-tier", "--es_opaque_id");
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_EQ(fixed->mode, OpaqueIdPolicy::Mode::kFixed);
  EXPECT_EQ(fixed->fixed, "search-tier");
  EXPECT_THAT(OpaqueIdPolicy::Parse("", "--es_opaque_id"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("--es_opaque_id")));
  EXPECT_THAT(OpaqueIdPolicy::Parse("a\nb", "--es_opaque_id"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace esgw
