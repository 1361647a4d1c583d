#include "client/ingest_stream.h"

#include <utility>

#include "client/call_options.h"

namespace esgw::client {

IngestStream::IngestStream(v1::Gateway::Stub* stub, std::unique_ptr<grpc::ClientContext> context,
                           CancelToken* cancel, Defaults defaults)
    : context_(std::move(context)),
      cancellation_(cancel, context_.get()),
      stream_(stub->Ingest(context_.get())),
      defaults_(std::move(defaults)) {}

IngestStream::~IngestStream() = default;

bool IngestStream::Write(v1::IngestRequest& message) {
  if (first_) {
    first_ = false;
    if (!defaults_.index.empty()) message.set_index(defaults_.index);
    if (!defaults_.pipeline.empty()) message.set_pipeline(defaults_.pipeline);
    message.set_refresh(defaults_.refresh);
  }
  return stream_->Write(message);
}

bool IngestStream::WritesDone() { return stream_->WritesDone(); }

bool IngestStream::Read(v1::IngestResponse* response) { return stream_->Read(response); }

absl::Status IngestStream::Finish() { return FromGrpcStatus(stream_->Finish()); }

}  // namespace esgw::client
