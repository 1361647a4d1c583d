#include "server/admin_service.h"

#include <string>

namespace esgw {
namespace {

grpc::Status Unimplemented(const std::string& method) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "esgw.v1.Admin/" + method +
                          " is not implemented in this version of esgw: it reports the node "
                          "pool, which this version does not have yet (it sends to the first "
                          "seed node that answers)");
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
                                                     esgw::v1::PoolStats*) {
  return FinishNow(context, Unimplemented("GetPoolStats"));
}

grpc::ServerWriteReactor<esgw::v1::PoolStats>* AdminService::WatchPoolStats(
    grpc::CallbackServerContext*, const esgw::v1::WatchPoolStatsRequest*) {
  return new FinishedWriter(Unimplemented("WatchPoolStats"));
}

grpc::ServerUnaryReactor* AdminService::GetHealth(grpc::CallbackServerContext* context,
                                                  const esgw::v1::GetHealthRequest*,
                                                  esgw::v1::HealthReport*) {
  return FinishNow(context, Unimplemented("GetHealth"));
}

grpc::ServerUnaryReactor* AdminService::Sniff(grpc::CallbackServerContext* context,
                                              const esgw::v1::SniffRequest*, esgw::v1::PoolStats*) {
  return FinishNow(context, Unimplemented("Sniff"));
}

}  // namespace esgw
