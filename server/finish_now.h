// Finishing a unary call from its handler, before any reactor of its own exists. One place for
// the gateway and admin services, so that every call refused after admission gives its place in
// the principal's limits back before the status is on its way (see Admission::Release).
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "server/access_control.h"
#include "server/grpc_status.h"

namespace esgw {

// Finishes the call at once with status; for a call that was never admitted.
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                           const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// The same for an admitted call: its place is given back first.
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                           AccessControl::Admission& admission,
                                           const absl::Status& status) {
  admission.Release();
  return FinishNow(context, ToGrpcStatus(status));
}

}  // namespace esgw
