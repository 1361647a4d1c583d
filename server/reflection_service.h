// gRPC server reflection v1 (grpc.reflection.v1.ServerReflection), answered from a protobuf
// DescriptorPool (the generated pool unless told otherwise). Thread-safe: the service is
// immutable after construction; each stream's reactor runs on gRPC's callback threads, one
// operation at a time. The service does not own the pool; the caller owns the service.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace esgw::server {

// Answers v1 reflection questions on a bidi stream: list_services, file_by_filename,
// file_containing_symbol, file_containing_extension and all_extension_numbers_of_type. A file
// answer holds the requested file and then the files it imports, directly or indirectly; on one
// stream each imported file is sent only once, while the requested file is always sent. A
// question that cannot be answered gets an ErrorResponse (NOT_FOUND for unknown files, symbols,
// types and extensions; UNIMPLEMENTED when no question is set) and the stream stays open.
//
// Only files linked into the binary are in the generated pool: link the generated code of
// every proto whose services are advertised (registering a service does that).
//
// Serving both v1 and v1alpha (grpcurl and newer tools ask v1 first; older ones v1alpha):
//
//   grpc::reflection::InitProtoReflectionServerBuilderPlugin();  // v1alpha; first, see below
//   ReflectionV1Service reflection_v1({std::string(Gateway::service_full_name()), ...});
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&reflection_v1);
//   ...
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
//
// ServerBuilder instantiates its plugins in its constructor from a process-wide list, so the
// v1alpha plugin (gRPC::grpc++_reflection, header grpcpp/ext/proto_server_reflection_plugin.h)
// must be registered first. v1alpha lists every registered service by itself; v1 lists exactly
// `service_names`, so pass every service the server registers (including
// "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection" and
// "grpc.health.v1.Health" if they should show up). The service must outlive the server.
class ReflectionV1Service final : public grpc::reflection::v1::ServerReflection::CallbackService {
 public:
  // `service_names` are fully-qualified service names, answered to list_services in this order.
  // `pool` must outlive the service.
  explicit ReflectionV1Service(std::vector<std::string> service_names,
                               const google::protobuf::DescriptorPool* pool =
                                   google::protobuf::DescriptorPool::generated_pool());

  ReflectionV1Service(const ReflectionV1Service&) = delete;
  ReflectionV1Service& operator=(const ReflectionV1Service&) = delete;

  grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                          grpc::reflection::v1::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

 private:
  class Reactor;

  // Fills `response` with the answer to `request`; never fails, errors become an ErrorResponse.
  // `sent_files` holds the names of the files already sent on this stream and gains the ones
  // sent now.
  void Answer(const grpc::reflection::v1::ServerReflectionRequest& request,
              std::unordered_set<std::string>* sent_files,
              grpc::reflection::v1::ServerReflectionResponse* response) const;

  const std::vector<std::string> service_names_;
  const google::protobuf::DescriptorPool* const pool_;
};

}  // namespace esgw::server
