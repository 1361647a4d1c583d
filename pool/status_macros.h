// Small status helpers that Debian's abseil (20220623) does not ship.
// ESGW_RETURN_IF_ERROR(expr): returns the status of expr from the enclosing function if not OK.
// ESGW_ASSIGN_OR_RETURN(lhs, expr): evaluates a StatusOr expr; returns its status on error,
// otherwise moves the value into lhs (which may be a declaration).
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ESGW_STATUS_CONCAT_INNER(a, b) a##b
#define ESGW_STATUS_CONCAT(a, b) ESGW_STATUS_CONCAT_INNER(a, b)

#define ESGW_RETURN_IF_ERROR(expr)                                  \
  do {                                                              \
    if (::absl::Status esgw_status_ = (expr); !esgw_status_.ok()) { \
      return esgw_status_;                                          \
    }                                                               \
  } while (false)

#define ESGW_ASSIGN_OR_RETURN(lhs, expr) \
  ESGW_ASSIGN_OR_RETURN_IMPL(ESGW_STATUS_CONCAT(esgw_statusor_, __LINE__), lhs, expr)

#define ESGW_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) {                                 \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = std::move(statusor).value()
