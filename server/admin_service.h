// esgw.v1.Admin. In this version every RPC answers UNIMPLEMENTED with the reason: pool state
// arrives with the node pool. Thread-safe: stateless.
#pragma once

#include "esgw/v1/admin.grpc.pb.h"

namespace esgw {

class AdminService final : public esgw::v1::Admin::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetPoolStats(grpc::CallbackServerContext* context,
                                         const esgw::v1::GetPoolStatsRequest* request,
                                         esgw::v1::PoolStats* response) override;
  grpc::ServerWriteReactor<esgw::v1::PoolStats>* WatchPoolStats(
      grpc::CallbackServerContext* context,
      const esgw::v1::WatchPoolStatsRequest* request) override;
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* context,
                                      const esgw::v1::GetHealthRequest* request,
                                      esgw::v1::HealthReport* response) override;
  grpc::ServerUnaryReactor* Sniff(grpc::CallbackServerContext* context,
                                  const esgw::v1::SniffRequest* request,
                                  esgw::v1::PoolStats* response) override;
};

}  // namespace esgw
