// esgw.v1.Admin over the node pool: GetPoolStats and Sniff work; WatchPoolStats and GetHealth
// answer UNIMPLEMENTED with the reason. Thread-safe: handlers only read the pool (which locks)
// or start a sniff (asynchronous; the reply is sent from the transport thread).
#pragma once

#include "esgw/v1/admin.grpc.pb.h"
#include "pool/curl_transport.h"
#include "pool/node_pool.h"
#include "pool/sniffer.h"

namespace esgw {

class AdminService final : public esgw::v1::Admin::CallbackService {
 public:
  // None owned; all must outlive the service. sniffer may be null (sniffing not configured).
  AdminService(NodePool* pool, Sniffer* sniffer, const CurlTransport* transport)
      : pool_(pool), sniffer_(sniffer), transport_(transport) {}

  grpc::ServerUnaryReactor* GetPoolStats(grpc::CallbackServerContext* context,
                                         const esgw::v1::GetPoolStatsRequest* request,
                                         esgw::v1::PoolStats* response) override;
  grpc::ServerWriteReactor<esgw::v1::PoolStats>* WatchPoolStats(
      grpc::CallbackServerContext* context,
      const esgw::v1::WatchPoolStatsRequest* request) override;
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* context,
                                      const esgw::v1::GetHealthRequest* request,
                                      esgw::v1::HealthReport* response) override;
  // FAILED_PRECONDITION when sniffing is off (pool mode or sniff mode); UNAVAILABLE when no node
  // answered the sniff or no sniffed node answered a probe (the pool is then unchanged).
  grpc::ServerUnaryReactor* Sniff(grpc::CallbackServerContext* context,
                                  const esgw::v1::SniffRequest* request,
                                  esgw::v1::PoolStats* response) override;

 private:
  NodePool* const pool_;
  Sniffer* const sniffer_;
  const CurlTransport* const transport_;
};

}  // namespace esgw
