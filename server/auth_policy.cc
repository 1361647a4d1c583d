#include "server/auth_policy.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/status_macros.h"
#include "server/validation.h"
#include "server/yaml_events.h"

namespace esgw {
namespace {

// Refuses YAML aliases: they let a short file stand for a huge tree, and an auth file has no
// use for them.
class AliasRefuser final : public IgnoringYamlEvents {
 public:
  bool saw_alias() const { return saw_alias_; }
  int alias_line() const { return alias_line_; }
  // Where the last document started.
  const YAML::Mark& document_start() const { return document_start_; }
  void OnDocumentStart(const YAML::Mark& mark) override { document_start_ = mark; }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (!saw_alias_) alias_line_ = mark.line + 1;
    saw_alias_ = true;
  }

 private:
  bool saw_alias_ = false;
  int alias_line_ = 0;
  YAML::Mark document_start_ = YAML::Mark::null_mark();
};

class FileErrors {
 public:
  explicit FileErrors(absl::string_view source) : source_(source) {}
  absl::Status At(const YAML::Node& node, absl::string_view what) const {
    const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return absl::InvalidArgumentError(absl::StrCat(
        "auth_file '", source_, "'", line > 0 ? absl::StrCat(" line ", line) : "", ": ", what));
  }

 private:
  std::string source_;
};

std::string Quote(absl::string_view text) { return absl::StrCat("'", absl::CHexEscape(text), "'"); }

absl::StatusOr<std::string> ScalarOf(const YAML::Node& node, absl::string_view key,
                                     const FileErrors& errors) {
  if (!node.IsScalar()) return errors.At(node, absl::StrCat(key, ": must be a single value"));
  return node.Scalar();
}

absl::StatusOr<int> PositiveIntOf(const YAML::Node& node, absl::string_view key,
                                  const FileErrors& errors) {
  ESGW_ASSIGN_OR_RETURN(std::string text, ScalarOf(node, key, errors));
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 1) {
    return errors.At(
        node, absl::StrCat(key, ": must be a whole number of at least 1; got ", Quote(text)));
  }
  return value;
}

absl::StatusOr<std::vector<std::string>> ListOf(const YAML::Node& node, absl::string_view key,
                                                const FileErrors& errors) {
  if (!node.IsSequence()) return errors.At(node, absl::StrCat(key, ": must be a list"));
  std::vector<std::string> items;
  for (const YAML::Node& item : node) {
    ESGW_ASSIGN_OR_RETURN(std::string text, ScalarOf(item, key, errors));
    items.push_back(std::move(text));
  }
  return items;
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@' || c == ':';
  });
}

absl::StatusOr<Principal> ParsePrincipal(const YAML::Node& node, int index,
                                         const PrincipalLimits& limits, const FileErrors& errors) {
  const std::string where = absl::StrCat("principals[", index, "]");
  if (!node.IsMap()) return errors.At(node, absl::StrCat(where, ": must be a mapping"));
  Principal principal;
  principal.limits = limits;
  bool has_indices = false;
  for (const auto& entry : node) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    const YAML::Node& value = entry.second;
    const std::string field = absl::StrCat(where, ".", key);
    if (key == "name") {
      ESGW_ASSIGN_OR_RETURN(principal.name, ScalarOf(value, field, errors));
      if (!ValidName(principal.name)) {
        return errors.At(value, absl::StrCat(field, ": ", Quote(principal.name),
                                             " must be 1-128 of letters, digits and . _ - @ :"));
      }
    } else if (key == "token_sha256") {
      ESGW_ASSIGN_OR_RETURN(std::string hex, ScalarOf(value, field, errors));
      const bool is_hex = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
                            return absl::ascii_isxdigit(c);
                          });
      if (!is_hex) {
        return errors.At(value, absl::StrCat(field,
                                             ": must be 64 hex digits (the SHA-256 of the token, "
                                             "e.g. from: printf %s \"$TOKEN\" | sha256sum)"));
      }
      const std::string bytes = absl::HexStringToBytes(hex);
      std::array<uint8_t, 32> digest = {};
      std::memcpy(digest.data(), bytes.data(), digest.size());
      principal.token_sha256 = digest;
    } else if (key == "client_cert_subject") {
      ESGW_ASSIGN_OR_RETURN(principal.client_cert_subject, ScalarOf(value, field, errors));
      if (principal.client_cert_subject.empty()) {
        return errors.At(value, absl::StrCat(field, ": must not be empty"));
      }
    } else if (key == "permissions") {
      ESGW_ASSIGN_OR_RETURN(std::vector<std::string> names, ListOf(value, field, errors));
      for (const std::string& name : names) {
        if (name == "read") {
          principal.permissions |= static_cast<int>(Permission::kRead);
        } else if (name == "write") {
          principal.permissions |= static_cast<int>(Permission::kWrite);
        } else if (name == "admin") {
          principal.permissions |= static_cast<int>(Permission::kAdmin);
        } else {
          return errors.At(value, absl::StrCat(field, ": ", Quote(name),
                                               " is not a permission (read, write or admin)"));
        }
      }
    } else if (key == "indices") {
      has_indices = true;
      ESGW_ASSIGN_OR_RETURN(principal.indices, ListOf(value, field, errors));
      for (size_t i = 0; i < principal.indices.size(); ++i) {
        const std::string& pattern = principal.indices[i];
        const std::string item = absl::StrCat(field, "[", i, "]");
        if (pattern == "_all") {
          return errors.At(value, absl::StrCat(item, ": write '*' for every index"));
        }
        const absl::Status valid = ValidateIndexName(pattern, IndexUse::kRead, item);
        if (!valid.ok()) return errors.At(value, valid.message());
      }
    } else if (key == "max_concurrent_rpcs") {
      ESGW_ASSIGN_OR_RETURN(principal.limits.max_concurrent_rpcs,
                            PositiveIntOf(value, field, errors));
    } else if (key == "max_ingest_streams") {
      ESGW_ASSIGN_OR_RETURN(principal.limits.max_ingest_streams,
                            PositiveIntOf(value, field, errors));
    } else {
      return errors.At(entry.first,
                       absl::StrCat(where, ": unknown key ", Quote(key),
                                    "; known: name, token_sha256, client_cert_subject, "
                                    "permissions, indices, max_concurrent_rpcs, "
                                    "max_ingest_streams"));
    }
  }
  if (principal.name.empty()) return errors.At(node, absl::StrCat(where, ": needs a name"));
  const std::string named = absl::StrCat("principal ", Quote(principal.name));
  if (!principal.token_sha256.has_value() && principal.client_cert_subject.empty()) {
    return errors.At(node, absl::StrCat(named, ": needs token_sha256 or client_cert_subject"));
  }
  if (principal.permissions == 0) {
    return errors.At(node, absl::StrCat(named, ": needs permissions (read, write, admin)"));
  }
  const bool touches_indices =
      principal.Has(Permission::kRead) || principal.Has(Permission::kWrite);
  if (touches_indices && (!has_indices || principal.indices.empty())) {
    return errors.At(node, absl::StrCat(named,
                                        ": read and write need indices, a list of index "
                                        "patterns ('*' for every index)"));
  }
  return principal;
}

}  // namespace

absl::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kRead:
      return "read";
    case Permission::kWrite:
      return "write";
    case Permission::kAdmin:
      return "admin";
  }
  return "?";
}

std::shared_ptr<const AuthPolicy> AuthPolicy::Open(const PrincipalLimits& limits) {
  auto policy = std::shared_ptr<AuthPolicy>(new AuthPolicy());
  policy->open_ = true;
  policy->principals_.push_back(Principal{.name = "anonymous",
                                          .permissions = static_cast<int>(Permission::kRead) |
                                                         static_cast<int>(Permission::kWrite) |
                                                         static_cast<int>(Permission::kAdmin),
                                          .indices = {"*"},
                                          .limits = limits});
  return policy;
}

absl::StatusOr<std::shared_ptr<const AuthPolicy>> AuthPolicy::Parse(absl::string_view text,
                                                                    absl::string_view source,
                                                                    const PrincipalLimits& limits) {
  const FileErrors errors(source);
  YAML::Node root;
  try {
    std::stringstream events{std::string(text)};
    YAML::Parser parser(events);
    AliasRefuser refuser;
    int previous_start = -1;
    while (parser.HandleNextDocument(refuser)) {
      // yaml-cpp reports a token it cannot place (a ',' outside brackets) as an empty document
      // that does not consume it, again and again: a document that starts where the one before
      // started is that token, and reading on would never end.
      if (refuser.document_start().pos == previous_start) {
        return absl::InvalidArgumentError(absl::StrCat(
            "auth_file '", source, "' line ", std::max(refuser.document_start().line, 0) + 1,
            ": YAML syntax error: unexpected token"));
      }
      previous_start = refuser.document_start().pos;
    }
    if (refuser.saw_alias()) {
      return absl::InvalidArgumentError(absl::StrCat("auth_file '", source, "' line ",
                                                     refuser.alias_line(),
                                                     ": YAML aliases are not allowed"));
    }
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth_file '", source, "' line ", std::max(e.mark.line, 0) + 1, ": ", e.msg));
  }
  if (!root.IsMap()) {
    return errors.At(root, "must be a mapping with a 'principals' list");
  }
  auto policy = std::shared_ptr<AuthPolicy>(new AuthPolicy());
  bool has_principals = false;
  for (const auto& entry : root) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    if (key != "principals") {
      return errors.At(entry.first,
                       absl::StrCat("unknown key ", Quote(key), "; known: principals"));
    }
    has_principals = true;
    if (!entry.second.IsSequence()) return errors.At(entry.second, "principals: must be a list");
    int index = 0;
    for (const YAML::Node& node : entry.second) {
      ESGW_ASSIGN_OR_RETURN(Principal principal, ParsePrincipal(node, index++, limits, errors));
      policy->principals_.push_back(std::move(principal));
    }
  }
  if (!has_principals || policy->principals_.empty()) {
    return errors.At(root, "principals: must list at least one principal");
  }
  std::set<std::string> names, subjects;
  std::set<std::array<uint8_t, 32>> tokens;
  for (const Principal& principal : policy->principals_) {
    const std::string named = absl::StrCat("principal ", Quote(principal.name));
    if (!names.insert(principal.name).second) {
      return errors.At(root, absl::StrCat(named, ": the name is used twice"));
    }
    if (principal.token_sha256.has_value() && !tokens.insert(*principal.token_sha256).second) {
      return errors.At(root, absl::StrCat(named, ": token_sha256 is another principal's too"));
    }
    if (!principal.client_cert_subject.empty() &&
        !subjects.insert(principal.client_cert_subject).second) {
      return errors.At(root,
                       absl::StrCat(named, ": client_cert_subject is another principal's too"));
    }
  }
  return std::shared_ptr<const AuthPolicy>(std::move(policy));
}

absl::StatusOr<std::shared_ptr<const AuthPolicy>> AuthPolicy::Load(const std::string& path,
                                                                   const PrincipalLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth_file: cannot read '", path, "': ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path, limits);
}

const Principal* AuthPolicy::FindByToken(absl::string_view token) const {
  const std::array<uint8_t, 32> digest = Sha256(token);
  const Principal* found = nullptr;
  // Every principal is compared, whatever matched before, each in constant time.
  for (const Principal& principal : principals_) {
    if (!principal.token_sha256.has_value()) continue;
    if (CRYPTO_memcmp(principal.token_sha256->data(), digest.data(), digest.size()) == 0) {
      found = &principal;
    }
  }
  return found;
}

const Principal* AuthPolicy::FindBySubject(absl::string_view subject) const {
  if (subject.empty()) return nullptr;
  for (const Principal& principal : principals_) {
    if (principal.client_cert_subject == subject) return &principal;
  }
  return nullptr;
}

std::array<uint8_t, 32> AuthPolicy::Sha256(absl::string_view text) {
  std::array<uint8_t, 32> digest = {};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

}  // namespace esgw
