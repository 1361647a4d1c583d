// Endpoint parsing and naming (pool/transport.h).
#include "pool/transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

TEST(ParseEndpointTest, AcceptsTheUsualForms) {
  auto e = ParseEndpoint("http://127.0.0.1:9201");
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->scheme, "http");
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 9201);

  e = ParseEndpoint("https://es.example.com:9243/");
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->scheme, "https");
  EXPECT_EQ(e->BaseUrl(), "https://es.example.com:9243");

  e = ParseEndpoint("es-0");
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->BaseUrl(), "http://es-0:9200");

  e = ParseEndpoint("http://[::1]:9200");
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->HostPort(), "[::1]:9200");
}

TEST(ParseEndpointTest, RejectsWhatItCannotDial) {
  EXPECT_THAT(ParseEndpoint("ftp://x:21"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("scheme must be http or https")));
  EXPECT_THAT(ParseEndpoint("http://x:99999"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port")));
  EXPECT_THAT(ParseEndpoint("http://x:9200/prefix"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no path")));
  EXPECT_THAT(ParseEndpoint("http://user:pw@x:9200"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEndpoint("http://"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEndpoint("http://[::1:9200"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace esgw
