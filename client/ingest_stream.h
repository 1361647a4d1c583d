// IngestStream: one Gateway/Ingest call, a bidirectional stream of ops in and results out, over
// gRPC's synchronous API. esgw reports each op's final result exactly once (by seq) and, after
// WritesDone, a summary as the last message.
// Thread-safety: one thread may Write/WritesDone while another Reads (the usual pattern: a
// writer feeding input, a reader taking results); Finish after both are done; Cancel from any
// thread. Owns the call's context.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "client/cancel_token.h"
#include "esgw/v1/gateway.grpc.pb.h"

namespace esgw::client {

class IngestStream {
 public:
  // What the first message carries for the whole stream.
  struct Defaults {
    std::string index = "";
    std::string pipeline = "";
    v1::Refresh refresh = v1::REFRESH_UNSPECIFIED;
  };

  // For Client::StartIngest: takes a context already set up (deadline, metadata).
  IngestStream(v1::Gateway::Stub* stub, std::unique_ptr<grpc::ClientContext> context,
               CancelToken* cancel, Defaults defaults);
  ~IngestStream();
  IngestStream(const IngestStream&) = delete;
  IngestStream& operator=(const IngestStream&) = delete;

  // Sends one message of ops; the first one also carries the defaults. Blocks while esgw's
  // buffer for the stream is full (flow control). False once the stream is broken: stop writing
  // and let Read and Finish tell what happened.
  bool Write(v1::IngestRequest& message);
  // Half-closes: no more ops. esgw then finishes every op and sends the summary.
  bool WritesDone();
  // The next message of results (and, last, the summary); false when the stream has ended.
  bool Read(v1::IngestResponse* response);
  // After WritesDone (or a failed Write) and Read returning false: the call's status. OK means
  // every op got its result and the summary came.
  absl::Status Finish();
  // Ends the stream now (Finish then says CANCELLED).
  void Cancel() { context_->TryCancel(); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  ScopedCancellation cancellation_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::IngestRequest, v1::IngestResponse>> stream_;
  Defaults defaults_;
  bool first_ = true;
};

}  // namespace esgw::client
