// Credentials esgw presents to Elasticsearch (basic auth or an API key), loaded from secret
// files or from values main.cc took from the environment, and turned once into the value of
// the Authorization header that CurlTransport sends with every request.
// A plain value type; thread-compatible. Errors never quote a secret, only where it came from.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace esgw {

struct EsCredentials {
  // Basic auth: username and password (both set), or an API key; all empty means none.
  std::string username = "";
  std::string password = "";
  // The "encoded" value Elasticsearch returns when the key is created (base64 of id:api_key).
  std::string api_key = "";

  bool empty() const { return username.empty() && api_key.empty(); }
  // "Basic <base64(username:password)>", "ApiKey <api_key>" or "" when there are none: the
  // value for CurlTransport::Options::authorization. A secret: never log it.
  std::string AuthorizationHeader() const;
  // Says which kind is configured, for logs: "none", "basic auth as user 'elastic'" or
  // "API key". Never includes a password or a key.
  std::string RedactedDescription() const;
};

// Secrets that arrived some other way than a file: main.cc fills these from the environment
// variables ESGW_ES_PASSWORD and ESGW_ES_API_KEY. An empty value counts as unset.
struct EsSecretValues {
  std::optional<std::string> password = std::nullopt;
  std::optional<std::string> api_key = std::nullopt;
};

// Builds credentials from --es_username, --es_password_file and --es_api_key_file (paths; empty
// = not given) and the secret values in `direct`. A file's content is the secret, minus one
// trailing newline. An API key given as "id:api_key" is base64-encoded here; the "encoded" form
// is used as it is. All empty: no credentials (OK, empty()).
// INVALID_ARGUMENT naming the flag or variable (never the content) when a file cannot be read,
// is empty or larger than 64 KiB; when a password is given without a username or the other way
// round; when both a file and its variable are set; when both basic auth and an API key are
// configured; when a username holds ':' or a control character, or an API key holds whitespace
// or a control character.
absl::StatusOr<EsCredentials> LoadEsCredentials(const std::string& username,
                                                const std::string& password_file,
                                                const std::string& api_key_file,
                                                const EsSecretValues& direct = {});

}  // namespace esgw
