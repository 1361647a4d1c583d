// One test per row of DESIGN.md section 3's failure-class table.
#include "pool/failure_class.h"

#include <gtest/gtest.h>

#include "tests/support/fake_transport.h"

namespace esgw {
namespace {

using testing::FakeTransport;

TEST(FailureClassTest, ConnectFailuresAreHard) {
  EXPECT_EQ(Classify(FakeTransport::Failed(TransportError::kConnectFailed)), FailureClass::kHard);
}

TEST(FailureClassTest, DeadReusedConnectionIsStale) {
  EXPECT_EQ(Classify(FakeTransport::Failed(TransportError::kStaleConnection, true)),
            FailureClass::kStale);
}

TEST(FailureClassTest, ResetOrTimeoutAfterSendingIsSoft) {
  EXPECT_EQ(Classify(FakeTransport::Failed(TransportError::kConnectionLost)), FailureClass::kSoft);
  EXPECT_EQ(Classify(FakeTransport::Failed(TransportError::kTimeout)), FailureClass::kSoft);
}

TEST(FailureClassTest, GatewayErrorsAreSoft) {
  for (int status : {502, 503, 504}) {
    EXPECT_EQ(Classify(FakeTransport::Ok("<html>bad gateway</html>", status)), FailureClass::kSoft)
        << status;
  }
}

TEST(FailureClassTest, TooManyRequestsIsBackpressure) {
  EXPECT_EQ(
      Classify(FakeTransport::Ok(
          R"({"error":{"type":"es_rejected_execution_exception","reason":"rejected"},"status":429})",
          429)),
      FailureClass::kBackpressure);
}

TEST(FailureClassTest, ServiceUnavailableWithRejectedExecutionIsBackpressure) {
  EXPECT_EQ(
      Classify(FakeTransport::Ok(
          R"({"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"queue full"}],"type":"es_rejected_execution_exception","reason":"queue full"},"status":503})",
          503)),
      FailureClass::kBackpressure);
}

TEST(FailureClassTest, OtherClientErrorsAndInternalErrorsAreTheRequests) {
  for (int status : {400, 401, 403, 404, 409, 413, 500}) {
    EXPECT_EQ(Classify(FakeTransport::Ok(R"({"error":"x","status":1})", status)),
              FailureClass::kRequest)
        << status;
  }
}

TEST(FailureClassTest, AnAnswerTooLargeToHoldIsTheRequests) {
  EXPECT_EQ(Classify(FakeTransport::Failed(TransportError::kResponseTooLarge)),
            FailureClass::kRequest);
}

TEST(FailureClassTest, ATwoHundredThatIsNotElasticsearchsIsSoft) {
  HttpResponse html = FakeTransport::Ok("<html>proxy</html>");
  html.content_type = "text/html; charset=utf-8";
  EXPECT_EQ(NotAnElasticsearchAnswer(html, HttpMethod::kPost),
            "content-type \"text/html\" is not JSON");
  ASSERT_TRUE(RejectNonElasticsearchAnswer(HttpMethod::kPost, &html));
  EXPECT_EQ(html.error, TransportError::kOther);
  EXPECT_EQ(html.error_message,
            "HTTP 200 that is not an Elasticsearch answer: content-type \"text/html\" is not JSON");
  EXPECT_EQ(Classify(html), FailureClass::kSoft);

  HttpResponse empty = FakeTransport::Ok("");
  EXPECT_EQ(NotAnElasticsearchAnswer(empty, HttpMethod::kGet), "the body is empty");
  EXPECT_EQ(NotAnElasticsearchAnswer(empty, HttpMethod::kHead), "");

  // Elasticsearch's own labels, and no label at all (the parser judges the body then), pass.
  for (const char* type : {"application/json", "application/json; charset=UTF-8",
                           "application/vnd.elasticsearch+json;compatible-with=8", ""}) {
    HttpResponse json = FakeTransport::Ok("{}");
    json.content_type = type;
    EXPECT_FALSE(RejectNonElasticsearchAnswer(HttpMethod::kGet, &json)) << type;
    EXPECT_EQ(json.error, TransportError::kNone);
  }
  // Other statuses are judged by their status, whatever the body.
  HttpResponse gateway = FakeTransport::Ok("<html>", 502);
  gateway.content_type = "text/html";
  EXPECT_FALSE(RejectNonElasticsearchAnswer(HttpMethod::kGet, &gateway));
}

TEST(FailureClassTest, CancelledIsLocal) {
  EXPECT_EQ(Classify(FakeTransport::Failed(TransportError::kCancelled)), FailureClass::kLocal);
}

TEST(FailureClassTest, SuccessIsSuccess) {
  EXPECT_EQ(Classify(FakeTransport::Ok("{}", 200)), FailureClass::kSuccess);
  EXPECT_EQ(Classify(FakeTransport::Ok("{}", 201)), FailureClass::kSuccess);
}

TEST(FailureClassTest, OnlyHardAndSoftBlameTheNode) {
  EXPECT_TRUE(BlamesNode(FailureClass::kHard));
  EXPECT_TRUE(BlamesNode(FailureClass::kSoft));
  EXPECT_FALSE(BlamesNode(FailureClass::kStale));
  EXPECT_FALSE(BlamesNode(FailureClass::kBackpressure));
  EXPECT_FALSE(BlamesNode(FailureClass::kRequest));
  EXPECT_FALSE(BlamesNode(FailureClass::kLocal));
}

}  // namespace
}  // namespace esgw
