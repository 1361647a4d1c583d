// A scripted Transport for unit tests: records every exchange, and either answers at once from
// a responder function (on the calling thread) or holds exchanges until the test completes
// them. Thread-safe.
#pragma once

#include <functional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "pool/transport.h"

namespace esgw::testing {

class FakeTransport final : public Transport {
 public:
  using Responder = std::function<HttpResponse(const Endpoint&, const HttpRequest&)>;

  struct Exchange {
    Endpoint node;
    HttpRequest request;
    TransferId id = 0;
    bool done = false;
  };

  // With a responder, Send answers at once with what it returns.
  void SetResponder(Responder responder) {
    absl::MutexLock lock(&mu_);
    responder_ = std::move(responder);
  }

  TransferId Send(const Endpoint& node, HttpRequest request, Callback done) override {
    Responder responder;
    TransferId id;
    {
      absl::MutexLock lock(&mu_);
      id = exchanges_.size() + 1;
      exchanges_.push_back({node, request, id, false});
      callbacks_.push_back(std::move(done));
      responder = responder_;
    }
    if (responder) Complete(id - 1, responder(node, request));
    return id;
  }

  void Cancel(TransferId id) override {
    HttpResponse response;
    response.error = TransportError::kCancelled;
    response.error_message = "cancelled";
    {
      absl::MutexLock lock(&mu_);
      cancelled_.push_back(id);
    }
    Complete(id - 1, std::move(response));
  }

  // Completes exchange number index (0-based, in Send order); no-op if it is done.
  void Complete(size_t index, HttpResponse response) {
    Callback callback;
    {
      absl::MutexLock lock(&mu_);
      if (index >= exchanges_.size() || exchanges_[index].done) return;
      exchanges_[index].done = true;
      callback = std::move(callbacks_[index]);
    }
    std::move(callback)(std::move(response));
  }

  std::vector<Exchange> exchanges() const {
    absl::MutexLock lock(&mu_);
    return exchanges_;
  }
  std::vector<TransferId> cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  // Response builders.
  static HttpResponse Ok(std::string body, int status = 200) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = "application/json";
    return r;
  }
  static HttpResponse Failed(TransportError error, bool reused = false) {
    HttpResponse r;
    r.error = error;
    r.error_message = "scripted failure";
    r.connection_reused = reused;
    return r;
  }

 private:
  mutable absl::Mutex mu_;
  Responder responder_ ABSL_GUARDED_BY(mu_);
  std::vector<Exchange> exchanges_ ABSL_GUARDED_BY(mu_);
  std::vector<Callback> callbacks_ ABSL_GUARDED_BY(mu_);
  std::vector<TransferId> cancelled_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw::testing
