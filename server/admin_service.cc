#include "server/admin_service.h"

#include <string>

#include "server/grpc_status.h"
#include "server/pool_stats.h"

namespace esgw {
namespace {

grpc::Status Unimplemented(const std::string& method, const std::string& why) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "esgw.v1.Admin/" + method + " is not implemented in this version of esgw: " +
                          why + "; GetPoolStats shows the pool now");
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

class FinishedWriter final : public grpc::ServerWriteReactor<esgw::v1::PoolStats> {
 public:
  explicit FinishedWriter(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* AdminService::GetPoolStats(grpc::CallbackServerContext* context,
                                                     const esgw::v1::GetPoolStatsRequest*,
                                                     esgw::v1::PoolStats* response) {
  ToPoolStats(pool_->Snapshot(), transport_, response);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<esgw::v1::PoolStats>* AdminService::WatchPoolStats(
    grpc::CallbackServerContext*, const esgw::v1::WatchPoolStatsRequest*) {
  return new FinishedWriter(Unimplemented("WatchPoolStats", "streaming pool stats are to come"));
}

grpc::ServerUnaryReactor* AdminService::GetHealth(grpc::CallbackServerContext* context,
                                                  const esgw::v1::GetHealthRequest*,
                                                  esgw::v1::HealthReport*) {
  return FinishNow(context,
                   Unimplemented("GetHealth", "the health report with cluster health is to come"));
}

grpc::ServerUnaryReactor* AdminService::Sniff(grpc::CallbackServerContext* context,
                                              const esgw::v1::SniffRequest*,
                                              esgw::v1::PoolStats* response) {
  if (sniffer_ == nullptr) {
    return FinishNow(context,
                     grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                  "sniffing is off: start esgw-server with --pool_mode=sniffing "
                                  "and --sniff_mode other than off"));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The sniff is asynchronous; the reply is sent from the thread that finishes it.
  sniffer_->RunOnce([this, reactor, response](absl::Status status) {
    if (status.ok()) ToPoolStats(pool_->Snapshot(), transport_, response);
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace esgw
