// Making untrusted text safe to put in logs, error messages, gRPC trailers and JSON: valid UTF-8
// (protobuf rejects string fields that are not), bounded in size, optionally on one line.
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace esgw {

// Length of the well-formed UTF-8 sequence at the start of s (1 to 4), or 0 when it is not one
// (overlong forms, surrogates and code points above U+10FFFF are not).
size_t Utf8SequenceLength(absl::string_view s);

// True when all of s is well-formed UTF-8 (as Utf8SequenceLength reads it).
bool IsUtf8(absl::string_view s);

// in with malformed bytes replaced by U+FFFD, cut on a character boundary so that it is at most
// max_bytes, ending in "..." when cut. With fold_whitespace, runs of whitespace and control
// characters become one space and the ends are trimmed.
std::string BoundedUtf8(absl::string_view in, size_t max_bytes, bool fold_whitespace = false);

// Appends text to out as a JSON string literal, quotes included: '"', '\\' and control
// characters escaped, malformed UTF-8 bytes replaced by \ufffd, so the result is always valid
// JSON. JsonQuote returns it.
void AppendJsonString(std::string* out, absl::string_view text);
std::string JsonQuote(absl::string_view text);

}  // namespace esgw
