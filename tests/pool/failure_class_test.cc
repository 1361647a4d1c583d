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
