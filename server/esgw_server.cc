#include "server/esgw_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/log.h"
#include "pool/status_macros.h"
#include "server/admin_service.h"
#include "server/gateway_service.h"
#include "server/health_service.h"
#include "server/reflection_service.h"

namespace esgw {

absl::StatusOr<std::unique_ptr<EsgwServer>> EsgwServer::Start(Options options) {
  std::vector<Endpoint> seeds;
  for (const std::string& url : options.es_nodes) {
    absl::StatusOr<Endpoint> endpoint = ParseEndpoint(url);
    if (!endpoint.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("es_nodes: ", endpoint.status().message()));
    }
    seeds.push_back(*std::move(endpoint));
  }
  if (seeds.empty()) return absl::InvalidArgumentError("es_nodes: at least one node is needed");
  if (options.default_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("request_timeout: must be positive");
  }

  auto server = std::unique_ptr<EsgwServer>(new EsgwServer());
  ESGW_ASSIGN_OR_RETURN(server->transport_, CurlTransport::Create(options.transport));
  ESGW_ASSIGN_OR_RETURN(server->dispatcher_,
                        Dispatcher::Create({.seeds = seeds,
                                            .transport = server->transport_.get(),
                                            .clock = options.transport.clock}));
  server->gateway_ = std::make_unique<GatewayService>(
      GatewayService::Options{.dispatcher = server->dispatcher_.get(),
                              .clock = options.transport.clock,
                              .default_timeout = options.default_timeout});
  server->admin_ = std::make_unique<AdminService>();
  const std::string gateway_name(esgw::v1::Gateway::service_full_name());
  server->health_ = std::make_unique<HealthService>(
      std::vector<std::string>{gateway_name, std::string(esgw::v1::Admin::service_full_name())});
  server->reflection_ = std::make_unique<server::ReflectionV1Service>(std::vector<std::string>{
      gateway_name, std::string(esgw::v1::Admin::service_full_name()),
      std::string(grpc::health::v1::Health::service_full_name()),
      "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"});

  // The v1alpha plugin must be registered before the builder exists: the builder takes its
  // plugins from a process-wide list in its constructor.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.RegisterService(server->gateway_.get());
  builder.RegisterService(server->admin_.get());
  builder.RegisterService(server->health_.get());
  builder.RegisterService(server->reflection_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("listen: cannot serve gRPC on '", options.listen,
                                               "' (address in use or not valid)"));
  }
  std::vector<std::string> urls;
  for (const Endpoint& seed : seeds) urls.push_back(seed.BaseUrl());
  // Until the node pool tracks liveness, the gateway serves from the moment it listens.
  server->health_->SetServing(true);
  Log(LogLevel::kInfo, "esgw-server listening",
      {{"port", absl::StrCat(server->port_)}, {"es_nodes", absl::StrJoin(urls, ",")}});
  return server;
}

void EsgwServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  health_->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
  server_->Wait();
  transport_->Shutdown();
}

EsgwServer::~EsgwServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

}  // namespace esgw
