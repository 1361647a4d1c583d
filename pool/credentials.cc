#include "pool/credentials.h"

#include <fstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace esgw {
namespace {

// A secret file is a few dozen bytes; anything this large is the wrong file.
constexpr size_t kMaxSecretBytes = 64 * 1024;

bool HasControlCharacter(absl::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Reads the secret in `path`, named `flag` in errors. The content never appears in a message.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read '", path, "'"));
  std::string content(kMaxSecretBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read '", path, "'"));
  }
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > kMaxSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", path, "' is larger than ", kMaxSecretBytes, " bytes"));
  }
  // Editors and `echo` end files with a newline that is not part of the secret.
  if (!content.empty() && content.back() == '\n') content.pop_back();
  if (!content.empty() && content.back() == '\r') content.pop_back();
  if (content.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": '", path, "' is empty"));
  }
  return content;
}

// The secret from a file flag or from its variable; nullopt when neither is set.
absl::StatusOr<std::optional<std::string>> ReadSecret(const std::string& path,
                                                      absl::string_view flag,
                                                      const std::optional<std::string>& direct,
                                                      absl::string_view variable) {
  const bool have_direct = direct.has_value() && !direct->empty();
  if (!path.empty() && have_direct) {
    return absl::InvalidArgumentError(absl::StrCat("set ", flag, " or ", variable, ", not both"));
  }
  if (have_direct) return direct;
  if (path.empty()) return std::nullopt;
  absl::StatusOr<std::string> content = ReadSecretFile(path, flag);
  if (!content.ok()) return content.status();
  return *std::move(content);
}

}  // namespace

std::string EsCredentials::AuthorizationHeader() const {
  if (!api_key.empty()) return absl::StrCat("ApiKey ", api_key);
  if (!username.empty())
    return absl::StrCat("Basic ", absl::Base64Escape(username + ":" + password));
  return "";
}

std::string EsCredentials::RedactedDescription() const {
  if (!api_key.empty()) return "API key";
  if (!username.empty()) return absl::StrCat("basic auth as user '", username, "'");
  return "none";
}

absl::StatusOr<EsCredentials> LoadEsCredentials(const std::string& username,
                                                const std::string& password_file,
                                                const std::string& api_key_file,
                                                const EsSecretValues& direct) {
  absl::StatusOr<std::optional<std::string>> password =
      ReadSecret(password_file, "--es_password_file", direct.password, "ESGW_ES_PASSWORD");
  if (!password.ok()) return password.status();
  absl::StatusOr<std::optional<std::string>> api_key =
      ReadSecret(api_key_file, "--es_api_key_file", direct.api_key, "ESGW_ES_API_KEY");
  if (!api_key.ok()) return api_key.status();

  EsCredentials credentials;
  if (password->has_value() && username.empty()) {
    return absl::InvalidArgumentError(
        "--es_username: needed with --es_password_file or ESGW_ES_PASSWORD");
  }
  if (!username.empty() && !password->has_value()) {
    return absl::InvalidArgumentError(
        "--es_username: needs a password from --es_password_file or ESGW_ES_PASSWORD");
  }
  if (!username.empty() && api_key->has_value()) {
    return absl::InvalidArgumentError(
        "use either basic auth (--es_username) or an API key (--es_api_key_file or "
        "ESGW_ES_API_KEY), not both");
  }
  if (!username.empty()) {
    // RFC 7617: the user-id cannot contain a colon; the password may.
    if (username.find(':') != std::string::npos || HasControlCharacter(username)) {
      return absl::InvalidArgumentError(
          "--es_username: must not contain ':' or control characters");
    }
    credentials.username = username;
    credentials.password = **std::move(password);
  }
  if (api_key->has_value()) {
    std::string key = **std::move(api_key);
    for (const char c : key) {
      if (c == ' ' || c == '\t' || HasControlCharacter(absl::string_view(&c, 1))) {
        return absl::InvalidArgumentError(
            "--es_api_key_file / ESGW_ES_API_KEY: the key must not contain whitespace or control "
            "characters");
      }
    }
    // The encoded form is base64 and never holds ':'; "id:api_key" is the raw pair.
    if (key.find(':') != std::string::npos) key = absl::Base64Escape(key);
    credentials.api_key = std::move(key);
  }
  return credentials;
}

}  // namespace esgw
