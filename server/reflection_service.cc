#include "server/reflection_service.h"

#include <utility>

#include "google/protobuf/descriptor.pb.h"

namespace esgw::server {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::DescriptorPool;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::FileDescriptorProto;
using ::grpc::reflection::v1::ErrorResponse;
using ::grpc::reflection::v1::FileDescriptorResponse;
using ::grpc::reflection::v1::ServerReflectionRequest;
using ::grpc::reflection::v1::ServerReflectionResponse;

void SetError(grpc::StatusCode code, std::string message, ServerReflectionResponse* response) {
  ErrorResponse* error = response->mutable_error_response();
  error->set_error_code(static_cast<int32_t>(code));
  error->set_error_message(std::move(message));
}

// Appends `file`, then breadth-first the files it imports, directly or indirectly, that this
// stream has not been sent yet. The requested file goes out even when it was sent before: the
// client asked for it. A file sent before needs no walk into its imports, as they went with it.
void AddFileAndImports(const FileDescriptor* file, std::unordered_set<std::string>* sent_files,
                       FileDescriptorResponse* out) {
  std::vector<const FileDescriptor*> queue = {file};
  std::unordered_set<const FileDescriptor*> queued = {file};
  for (size_t i = 0; i < queue.size(); ++i) {
    const FileDescriptor* current = queue[i];
    sent_files->insert(current->name());
    FileDescriptorProto proto;
    current->CopyTo(&proto);
    proto.SerializeToString(out->add_file_descriptor_proto());
    for (int d = 0; d < current->dependency_count(); ++d) {
      const FileDescriptor* import = current->dependency(d);
      if (import == nullptr || sent_files->contains(import->name())) continue;
      if (queued.insert(import).second) queue.push_back(import);
    }
  }
}

}  // namespace

// One reflection stream. Reads a question, writes its answer, and only then reads the next, so
// at most one operation is outstanding and OnReadDone / OnWriteDone never run concurrently;
// that is what makes the unguarded members safe. A read or write that fails (half-close,
// cancellation, broken transport) ends the stream with Finish, which is called exactly once;
// gRPC then calls OnDone, after every callback has returned, and only OnDone frees the reactor.
class ReflectionV1Service::Reactor final
    : public grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse> {
 public:
  explicit Reactor(const ReflectionV1Service* service) : service_(service) { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (the normal end) or the call is gone; either way nothing is left
      // to answer. After a cancellation the status is dropped, but Finish is still owed.
      Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    service_->Answer(request_, &sent_files_, &response_);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "reflection stream closed while writing"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const ReflectionV1Service* const service_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
  // Names of the files sent on this stream, so that imports go out once per stream.
  std::unordered_set<std::string> sent_files_;
};

ReflectionV1Service::ReflectionV1Service(std::vector<std::string> service_names,
                                         const DescriptorPool* pool)
    : service_names_(std::move(service_names)), pool_(pool) {}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionV1Service::ServerReflectionInfo(grpc::CallbackServerContext* /*context*/) {
  return new Reactor(this);
}

void ReflectionV1Service::Answer(const ServerReflectionRequest& request,
                                 std::unordered_set<std::string>* sent_files,
                                 ServerReflectionResponse* response) const {
  response->set_valid_host(request.host());
  *response->mutable_original_request() = request;

  switch (request.message_request_case()) {
    case ServerReflectionRequest::kListServices: {
      auto* list = response->mutable_list_services_response();
      for (const std::string& name : service_names_) list->add_service()->set_name(name);
      return;
    }
    case ServerReflectionRequest::kFileByFilename: {
      const std::string& name = request.file_by_filename();
      const FileDescriptor* file = pool_->FindFileByName(name);
      if (file == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, "file not found: " + name, response);
        return;
      }
      AddFileAndImports(file, sent_files, response->mutable_file_descriptor_response());
      return;
    }
    case ServerReflectionRequest::kFileContainingSymbol: {
      const std::string& symbol = request.file_containing_symbol();
      const FileDescriptor* file = pool_->FindFileContainingSymbol(symbol);
      if (file == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, "symbol not found: " + symbol, response);
        return;
      }
      AddFileAndImports(file, sent_files, response->mutable_file_descriptor_response());
      return;
    }
    case ServerReflectionRequest::kFileContainingExtension: {
      const std::string& type = request.file_containing_extension().containing_type();
      const int32_t number = request.file_containing_extension().extension_number();
      const Descriptor* message = pool_->FindMessageTypeByName(type);
      if (message == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, "message type not found: " + type, response);
        return;
      }
      const FieldDescriptor* extension = pool_->FindExtensionByNumber(message, number);
      if (extension == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND,
                 "extension " + std::to_string(number) + " of " + type + " not found", response);
        return;
      }
      AddFileAndImports(extension->file(), sent_files,
                        response->mutable_file_descriptor_response());
      return;
    }
    case ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const std::string& type = request.all_extension_numbers_of_type();
      const Descriptor* message = pool_->FindMessageTypeByName(type);
      if (message == nullptr) {
        SetError(grpc::StatusCode::NOT_FOUND, "message type not found: " + type, response);
        return;
      }
      std::vector<const FieldDescriptor*> extensions;
      pool_->FindAllExtensions(message, &extensions);
      auto* numbers = response->mutable_all_extension_numbers_response();
      numbers->set_base_type_name(message->full_name());
      for (const FieldDescriptor* extension : extensions) {
        numbers->add_extension_number(extension->number());
      }
      return;
    }
    case ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      break;
  }
  SetError(grpc::StatusCode::UNIMPLEMENTED, "the request sets no known message_request field",
           response);
}

}  // namespace esgw::server
