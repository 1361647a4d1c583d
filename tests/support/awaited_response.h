#ifndef ESGW_TESTS_SUPPORT_AWAITED_RESPONSE_H_
#define ESGW_TESTS_SUPPORT_AWAITED_RESPONSE_H_

#include <chrono>
#include <future>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "pool/transport.h"

namespace esgw::testing {

// A response a transport will deliver later. The callback shares ownership of the promise, so a
// test that stops early (a failed ASSERT) never leaves a transport thread writing into a stack
// frame that is gone.
class AwaitedResponse {
 public:
  AwaitedResponse()
      : promise_(std::make_shared<std::promise<HttpResponse>>()), future_(promise_->get_future()) {}

  Transport::Callback Callback() {
    return [promise = promise_](HttpResponse response) { promise->set_value(std::move(response)); };
  }

  // The response, or (after a test failure) one that says none came within `limit`.
  HttpResponse Wait(absl::Duration limit = absl::Seconds(20)) {
    if (future_.wait_for(absl::ToChronoMilliseconds(limit)) != std::future_status::ready) {
      ADD_FAILURE() << "no response within " << limit;
      HttpResponse none;
      none.error = TransportError::kOther;
      none.error_message =
          absl::StrCat("the test saw no response within ", absl::FormatDuration(limit));
      return none;
    }
    return future_.get();
  }

 private:
  std::shared_ptr<std::promise<HttpResponse>> promise_;
  std::future<HttpResponse> future_;
};

// Sends and waits (at most `limit`) for the response.
inline HttpResponse SendAndWait(Transport& transport, const Endpoint& node, HttpRequest request,
                                absl::Duration limit = absl::Seconds(20)) {
  AwaitedResponse awaited;
  transport.Send(node, std::move(request), awaited.Callback());
  return awaited.Wait(limit);
}

}  // namespace esgw::testing

#endif  // ESGW_TESTS_SUPPORT_AWAITED_RESPONSE_H_
