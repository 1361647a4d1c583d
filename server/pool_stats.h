// Converts the pool's plain-C++ snapshot into the esgw.v1.PoolStats message that Admin serves,
// adding the transport's connection counters. Thread-safe: pure function.
#pragma once

#include "esgw/v1/admin.pb.h"
#include "pool/curl_transport.h"
#include "pool/node.h"

namespace esgw {

// transport may be null (then connection counters stay 0).
void ToPoolStats(const PoolSnapshot& snapshot, const CurlTransport* transport,
                 esgw::v1::PoolStats* out);

}  // namespace esgw
