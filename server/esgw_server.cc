#include "server/esgw_server.h"

#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <climits>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "pool/error_info.h"
#include "pool/log.h"
#include "pool/status_macros.h"
#include "server/admin_service.h"
#include "server/cluster_health.h"
#include "server/gateway_service.h"
#include "server/grpc_status.h"
#include "server/health_service.h"
#include "server/metrics.h"
#include "server/metrics_http.h"
#include "server/reflection_service.h"

#ifndef ESGW_VERSION
#define ESGW_VERSION "unknown"
#endif

namespace esgw {
namespace {

// One log line per pool state change (never per request).
void LogPoolEvent(const PoolEvent& event) {
  const LogLevel level = event.kind == PoolEvent::Kind::kAllNodesDead  ? LogLevel::kError
                         : event.kind == PoolEvent::Kind::kNodeEjected ? LogLevel::kWarning
                                                                       : LogLevel::kInfo;
  const std::string failures = absl::StrCat(event.consecutive_failures);
  const std::string dead_for = absl::FormatDuration(event.dead_for);
  if (event.kind == PoolEvent::Kind::kNodeEjected) {
    Log(level, PoolEventKindName(event.kind),
        {{"node", event.host_port},
         {"reason", event.reason},
         {"consecutive_failures", failures},
         {"dead_for", dead_for}});
  } else {
    Log(level, PoolEventKindName(event.kind),
        {{"node", event.host_port}, {"reason", event.reason}});
  }
}

// gRPC's callback API answers a request message that does not parse (a string field that is not
// UTF-8, a body_struct nested past protobuf's depth limit, bytes that are not protobuf) with
// UNIMPLEMENTED and no message, as if the method did not exist. This interceptor turns that
// answer into INVALID_ARGUMENT saying what happened. It knows the failure as a call of
// esgw.v1 with one request message whose message never arrived. (Ingest, a stream, finds out
// itself: server/ingest_call.cc.)
class UnparsedRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit UnparsedRequestInterceptor(std::string method) : method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsed_ = true;
    }
    if (unparsed_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      methods->ModifySendStatus(ToGrpcStatus(WithErrorInfo(
          absl::InvalidArgumentError(absl::StrCat(
              "the request to ", method_,
              " could not be parsed: protobuf refuses a string field that is not valid UTF-8, "
              "a message nested more than 100 deep (a body_struct, for one) and bytes that are "
              "not a protobuf message")),
          {"UNPARSABLE_REQUEST", {{"method", method_}}})));
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  bool unparsed_ = false;
};

class UnparsedRequestFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    const bool one_request = info->type() == Type::UNARY || info->type() == Type::SERVER_STREAMING;
    if (!one_request || !absl::StartsWith(info->method(), "/esgw.v1.")) return nullptr;
    return new UnparsedRequestInterceptor(info->method());
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<EsgwServer>> EsgwServer::Start(Options options) {
  std::vector<NodeInfo> seeds;
  for (const std::string& url : options.es_nodes) {
    absl::StatusOr<Endpoint> endpoint = ParseEndpoint(url);
    if (!endpoint.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("es_nodes: ", endpoint.status().message()));
    }
    seeds.push_back({.endpoint = *std::move(endpoint), .seed = true});
  }
  if (seeds.empty()) return absl::InvalidArgumentError("es_nodes: at least one node is needed");
  if (options.default_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("request_timeout: must be positive");
  }
  // Replicas must not pick nodes or jitter in lockstep: seed from the OS.
  std::random_device random;
  const uint64_t seed = (uint64_t{random()} << 32) | random();
  const Clock* clock = options.transport.clock;
  options.pool.clock = clock;
  options.pool.random_seed = seed;
  options.sniffer.clock = clock;
  options.sniffer.random_seed = seed + 1;

  if (options.max_read_request_bytes == 0 || options.max_bulk_request_bytes == 0) {
    return absl::InvalidArgumentError(
        "max_read_request_bytes, max_bulk_request_bytes: must be positive");
  }
  if (options.principal_limits.max_concurrent_rpcs < 1 ||
      options.principal_limits.max_ingest_streams < 1) {
    return absl::InvalidArgumentError(
        "max_concurrent_rpcs_per_principal, max_ingest_streams_per_principal: must be at least 1");
  }
  ESGW_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                        MakeServerCredentials(options.tls));
  std::shared_ptr<const AuthPolicy> policy = AuthPolicy::Open(options.principal_limits);
  if (!options.auth_file.empty()) {
    ESGW_ASSIGN_OR_RETURN(policy, AuthPolicy::Load(options.auth_file, options.principal_limits));
  }

  auto server = std::unique_ptr<EsgwServer>(new EsgwServer());
  server->options_ = options;
  server->access_ = std::make_unique<AccessControl>(policy);
  ESGW_ASSIGN_OR_RETURN(server->transport_, CurlTransport::Create(options.transport));
  ESGW_ASSIGN_OR_RETURN(server->pool_, NodePool::Create(options.pool, seeds));
  server->pool_->SetListener(&LogPoolEvent);
  server->timers_ = std::make_unique<TimerQueue>(clock);
  ESGW_ASSIGN_OR_RETURN(server->prober_, Prober::Create(options.prober, server->pool_.get(),
                                                        server->transport_.get()));
  if (options.pool.mode == PoolMode::kSniffing && options.sniffer.mode != SniffMode::kOff) {
    ESGW_ASSIGN_OR_RETURN(server->sniffer_, Sniffer::Create(options.sniffer, server->pool_.get(),
                                                            server->transport_.get()));
  }
  Sniffer* sniffer = server->sniffer_.get();
  ESGW_ASSIGN_OR_RETURN(server->dispatcher_,
                        Dispatcher::Create({.pool = server->pool_.get(),
                                            .transport = server->transport_.get(),
                                            .timers = server->timers_.get(),
                                            .clock = clock,
                                            .retry = options.retry,
                                            .random_seed = seed + 2,
                                            .on_node_failure = [sniffer] {
                                              if (sniffer != nullptr)
                                                sniffer->RequestSniffAfterFailure();
                                            }}));
  server->gateway_ = std::make_unique<GatewayService>(
      GatewayService::Options{.dispatcher = server->dispatcher_.get(),
                              .clock = clock,
                              .default_timeout = options.default_timeout,
                              .opaque_id = options.opaque_id,
                              .timers = server->timers_.get(),
                              .bulk = options.bulk,
                              .ingest = options.ingest,
                              .access = server->access_.get(),
                              .max_read_request_bytes = options.max_read_request_bytes,
                              .max_bulk_request_bytes = options.max_bulk_request_bytes});
  const std::string gateway_name(esgw::v1::Gateway::service_full_name());
  const std::string admin_name(esgw::v1::Admin::service_full_name());
  // Readiness follows the pool; liveness (esgw.v1.Admin, whose RPCs work without Elasticsearch)
  // follows the maintenance tick, so a wedged timer thread or pool lock is seen by probes.
  server->health_ = std::make_unique<HealthService>(HealthService::Options{
      .services = {gateway_name}, .liveness_services = {admin_name}, .clock = clock});
  server->cluster_health_ = std::make_unique<ClusterHealthCache>(ClusterHealthCache::Options{
      .dispatcher = server->dispatcher_.get(), .clock = clock, .ttl = options.cluster_health_ttl});
  server->admin_ = std::make_unique<AdminService>(
      AdminService::Options{.pool = server->pool_.get(),
                            .sniffer = sniffer,
                            .transport = server->transport_.get(),
                            .timers = server->timers_.get(),
                            .health = server->health_.get(),
                            .cluster_health = server->cluster_health_.get(),
                            .access = server->access_.get(),
                            .clock = clock,
                            .version = ESGW_VERSION});
  const std::vector<std::string> services = {
      gateway_name, admin_name, std::string(grpc::health::v1::Health::service_full_name()),
      "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"};
  server->reflection_ = std::make_unique<server::ReflectionV1Service>(services);
  // Every method's series exist from the start, at zero.
  for (const std::string& name : services) server->calls_.metrics().RegisterService(name);

  // Before the gRPC server, so that a /metrics address that cannot be bound fails the start
  // before anything serves.
  if (!options.metrics_listen.empty()) {
    const EsgwServer* self = server.get();
    ESGW_ASSIGN_OR_RETURN(server->metrics_,
                          MetricsHttpServer::Start(
                              options.metrics_listen,
                              [self] {
                                return RenderMetrics({.grpc = &self->calls_.metrics(),
                                                      .pool = self->pool_.get(),
                                                      .transport = self->transport_.get(),
                                                      .health = self->health_.get(),
                                                      .ingest = &self->gateway_->ingest_streams(),
                                                      .version = ESGW_VERSION});
                              },
                              [self, gateway_name, admin_name](bool live) {
                                return self->health_->StatusFor(live ? admin_name : gateway_name) ==
                                       grpc::health::v1::HealthCheckResponse::SERVING;
                              }));
  }
  // The v1alpha plugin must be registered before the builder exists: the builder takes its
  // plugins from a process-wide list in its constructor.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  // A little over the larger request limit, so that a request between the limit and this is
  // refused by esgw with the limit named; past this gRPC refuses it unread.
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(
      std::max(options.max_read_request_bytes, options.max_bulk_request_bytes) + (64 << 10),
      INT_MAX)));
  auto ms = [](absl::Duration d) {
    return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT_MAX));
  };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ms(options.keepalive_min_client_interval));
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ms(options.max_connection_age));
    if (options.max_connection_age_grace > absl::ZeroDuration()) {
      builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                                 ms(options.max_connection_age_grace));
    }
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  // First, so that the call tracker counts the status it rewrites.
  interceptors.push_back(std::make_unique<UnparsedRequestFactory>());
  interceptors.push_back(server->calls_.NewFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(server->gateway_.get());
  builder.RegisterService(server->admin_.get());
  builder.RegisterService(server->health_.get());
  builder.RegisterService(server->reflection_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("listen: cannot serve gRPC on '", options.listen,
                                               "' (address in use or not valid)"));
  }
  // Seeds start alive, so the gateway serves at once; the maintenance tick keeps health in step.
  server->health_->SetServing(server->pool_->HasUsableNode());
  server->timers_->Start();
  server->Maintain();
  std::vector<std::string> urls;
  for (const NodeInfo& node : seeds) urls.push_back(node.endpoint.BaseUrl());
  Log(LogLevel::kInfo, "esgw-server listening",
      {{"port", absl::StrCat(server->port_)},
       {"es_nodes", absl::StrJoin(urls, ",")},
       {"pool_mode", PoolModeName(options.pool.mode)},
       {"selector", SelectorKindName(options.pool.selector)},
       {"sniff", sniffer != nullptr ? SniffModeName(options.sniffer.mode) : "off"},
       {"metrics_port", absl::StrCat(server->metrics_port())},
       {"tls", options.tls.cert_file.empty()        ? "off"
               : options.tls.client_ca_file.empty() ? "on"
                                                    : "mutual"},
       {"principals", policy->open() ? "open" : absl::StrCat(policy->principals().size())}});
  if (policy->open()) {
    Log(LogLevel::kWarning,
        "no --auth_file: every caller may read, write and administer every index (open access)");
  }
  if (!policy->open() && options.tls.cert_file.empty()) {
    Log(LogLevel::kWarning,
        "--auth_file without --tls_cert: bearer tokens cross the network unencrypted");
  }
  return server;
}

void EsgwServer::Maintain() {
  prober_->RunOnce();
  if (sniffer_ != nullptr && options_.transport.clock->Now() >= sniffer_->NextSniffTime()) {
    // The sniffer logs its outcome.
    sniffer_->RunOnce([](absl::Status) {});
  }
  // Between pool events time alone can change usability (a no-ping node's deadline passing).
  health_->SetServing(pool_->HasUsableNode());
  timers_->ScheduleAfter(options_.maintenance_interval, [this] { Maintain(); });
}

int EsgwServer::metrics_port() const { return metrics_ != nullptr ? metrics_->port() : 0; }

void EsgwServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  health_->Shutdown();
  if (options_.shutdown_delay > absl::ZeroDuration()) {
    Log(LogLevel::kInfo, "health is NOT_SERVING; still serving during the shutdown delay",
        {{"shutdown_delay", absl::FormatDuration(options_.shutdown_delay)}});
    absl::SleepFor(options_.shutdown_delay);
  }
  admin_->Shutdown();
  gateway_->DrainIngestStreams();
  // gRPC's Shutdown refuses new calls, lets running ones finish until the deadline, and then
  // cancels the rest; but it also waits until every client connection has closed, and a client
  // that holds an idle connection after GOAWAY would keep us for the whole grace period. So
  // once no call is running, cancelling "all calls" (there are none) closes those connections
  // and the stop completes. Repeated while gRPC's shutdown runs, for connections that raced in.
  const absl::Time deadline = absl::Now() + grace;
  absl::Notification stopped;
  std::thread stopper([this, deadline, &stopped] {
    server_->Shutdown(absl::ToChronoTime(deadline));
    stopped.Notify();
  });
  while (!stopped.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
    if (calls_.active() == 0) grpc_server_cancel_all_calls(server_->c_server());
  }
  stopper.join();
  server_->Wait();
  if (metrics_ != nullptr) metrics_->Stop();
  timers_->Stop();
  transport_->Shutdown();
}

EsgwServer::~EsgwServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

}  // namespace esgw
