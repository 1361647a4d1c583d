// Invariant checks shared by the fuzz targets in tests/fuzz. A failed check prints what broke and
// aborts, which libFuzzer records as a crash (with the input that caused it) and which fails the
// corpus replay test. Header-only; thread-compatible (the fuzz targets are single-threaded).
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pool/error_info.h"
#include "pool/utf8.h"

// Aborts with the condition's text, file and line when condition is false.
#define ESGW_FUZZ_CHECK(condition)                                                             \
  do {                                                                                         \
    if (!(condition)) ::esgw::fuzz::Fail(__FILE__, __LINE__, #condition, absl::string_view()); \
  } while (false)

// The same, with a note (e.g. the offending value) printed after the condition.
#define ESGW_FUZZ_CHECK_NOTE(condition, note)                                     \
  do {                                                                            \
    if (!(condition)) ::esgw::fuzz::Fail(__FILE__, __LINE__, #condition, (note)); \
  } while (false)

namespace esgw::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* condition,
                              absl::string_view note) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, condition);
  if (!note.empty()) {
    // Bounded and made printable, so a huge or binary value cannot drown the report.
    const std::string shown = BoundedUtf8(note, 2000);
    std::fprintf(stderr, "  note: %s\n", shown.c_str());
  }
  std::abort();
}

// True when text is well-formed UTF-8 (no overlong forms, surrogates or code points above
// U+10FFFF): what protobuf requires of string fields.
inline bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t length = Utf8SequenceLength(text.substr(i));
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// Checks that every string field of message, in nested messages, repeated fields and maps too,
// is valid UTF-8, so that the message can be sent and a client can parse it.
inline void CheckStringsAreUtf8(const google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string where = field->full_name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        field->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          ESGW_FUZZ_CHECK_NOTE(IsUtf8(reflection->GetRepeatedString(message, field, i)), where);
        }
      } else {
        ESGW_FUZZ_CHECK_NOTE(IsUtf8(reflection->GetString(message, field)), where);
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          CheckStringsAreUtf8(reflection->GetRepeatedMessage(message, field, i));
        }
      } else {
        CheckStringsAreUtf8(reflection->GetMessage(message, field));
      }
    }
  }
}

// Checks a failed status: the expected code and, when expected_reason is not empty, an ErrorInfo
// with that reason.
inline void CheckError(const absl::Status& status, absl::StatusCode expected_code,
                       absl::string_view expected_reason) {
  ESGW_FUZZ_CHECK_NOTE(status.code() == expected_code, status.ToString());
  if (!expected_reason.empty()) {
    ESGW_FUZZ_CHECK_NOTE(GetErrorInfo(status).reason == expected_reason, status.ToString());
  }
}

}  // namespace esgw::fuzz
