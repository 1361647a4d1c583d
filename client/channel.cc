#include "client/channel.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "pool/status_macros.h"

namespace esgw::client {
namespace {

// A duration as the service config wants it: decimal seconds with an "s", e.g. "0.1s".
std::string ProtoDuration(absl::Duration d) {
  return absl::StrFormat("%.3fs", absl::ToDoubleSeconds(d));
}

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": cannot read \"", path, "\": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", path, "\" holds no PEM block"));
  }
  return pem;
}

}  // namespace

std::vector<std::string> RetriedMethods() {
  return {"esgw.v1.Gateway/Search", "esgw.v1.Gateway/MultiSearch", "esgw.v1.Gateway/Count",
          "esgw.v1.Gateway/Get",    "esgw.v1.Admin/GetPoolStats",  "esgw.v1.Admin/GetHealth"};
}

std::string ServiceConfigJson(const RetryPolicy& policy) {
  std::vector<std::string> names;
  for (const std::string& method : RetriedMethods()) {
    const size_t slash = method.find('/');
    names.push_back(absl::StrCat(R"({"service":")", method.substr(0, slash), R"(","method":")",
                                 method.substr(slash + 1), R"("})"));
  }
  // retryThrottling: each failure costs a token, each success gives back tokenRatio; below half
  // of maxTokens gRPC stops retrying until calls succeed again.
  return absl::StrCat(R"({"methodConfig":[{"name":[)", absl::StrJoin(names, ","),
                      R"(],"retryPolicy":{"maxAttempts":)", policy.max_attempts,
                      R"(,"initialBackoff":")", ProtoDuration(policy.initial_backoff),
                      R"(","maxBackoff":")", ProtoDuration(policy.max_backoff),
                      R"(","backoffMultiplier":)", policy.backoff_multiplier,
                      R"(,"retryableStatusCodes":["UNAVAILABLE"]}}],)",
                      R"("retryThrottling":{"maxTokens":10,"tokenRatio":0.1}})");
}

grpc::ChannelArguments ChannelArgs(const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(ServiceConfigJson());
  // Ours is the only service config: none is looked up in DNS TXT records.
  args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  if (options.keepalive_time > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, options.keepalive_without_calls ? 1 : 0);
  }
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  if (!options.user_agent.empty()) {
    args.SetString(GRPC_ARG_PRIMARY_USER_AGENT_STRING, options.user_agent);
  }
  if (!options.server_name.empty()) {
    args.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, options.server_name);
  }
  return args;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ClientOptions& options) {
  return CreateChannel(options, ChannelArgs(options));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ClientOptions& options,
                                                             const grpc::ChannelArguments& args) {
  ESGW_RETURN_IF_ERROR(ValidateOptions(options));
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.UsesTls()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      ESGW_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(options.ca_file, "ca_file"));
    }
    if (!options.cert_file.empty()) {
      ESGW_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPem(options.cert_file, "cert_file"));
      ESGW_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPem(options.key_file, "key_file"));
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(options.address, credentials, args);
}

}  // namespace esgw::client
