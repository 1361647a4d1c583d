// The client library without a server: option validation, the environment, the service config
// that makes gRPC retry the idempotent RPCs, and the channel arguments.
#include "client/client_options.h"

#include <gmock/gmock.h>
#include <grpc/grpc.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "client/channel.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/support/status_matchers.h"

namespace esgw::client {
namespace {

using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

ClientOptions Valid() {
  ClientOptions options;
  options.address = "127.0.0.1:50051";
  return options;
}

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const char* name) -> const char* {
    auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  };
}

TEST(ClientOptionsTest, AddressComesFromTheCallerThenEsgwAddrThenTheDefault) {
  ClientOptions options;
  ApplyEnvironment(options, FakeEnv({}));
  EXPECT_EQ(options.address, "127.0.0.1:50051");

  options = ClientOptions();
  ApplyEnvironment(options, FakeEnv({{"ESGW_ADDR", "esgw.internal:443"}}));
  EXPECT_EQ(options.address, "esgw.internal:443");

  options = ClientOptions();
  options.address = "10.0.0.1:50051";
  ApplyEnvironment(options, FakeEnv({{"ESGW_ADDR", "esgw.internal:443"}}));
  EXPECT_EQ(options.address, "10.0.0.1:50051") << "a flag beats the environment";

  options = ClientOptions();
  ApplyEnvironment(options, FakeEnv({{"ESGW_ADDR", ""}}));
  EXPECT_EQ(options.address, "127.0.0.1:50051") << "an empty ESGW_ADDR counts as unset";
}

TEST(ClientOptionsTest, TokenComesFromEsgwTokenUnlessGiven) {
  ClientOptions options;
  ApplyEnvironment(options, FakeEnv({{"ESGW_TOKEN", "from-env"}}));
  EXPECT_EQ(options.token, "from-env");
  options.token = "from-flag";
  ApplyEnvironment(options, FakeEnv({{"ESGW_TOKEN", "from-env"}}));
  EXPECT_EQ(options.token, "from-flag");
}

TEST(ClientOptionsTest, AcceptsAddressForms) {
  for (const char* address :
       {"127.0.0.1:50051", "localhost:1", "esgw.example.com:443", "[::1]:50051",
        "dns:///esgw.example.com:50051", "unix:/run/esgw.sock", "ipv4:127.0.0.1:50051"}) {
    ClientOptions options = Valid();
    options.address = address;
    EXPECT_THAT(ValidateOptions(options), IsOk()) << address;
  }
}

TEST(ClientOptionsTest, RefusesMalformedAddressesNamingTheRule) {
  for (const char* address :
       {"", "esgw", "esgw:", "esgw:http", "esgw:70000", "::1:50051", "[::1]50051", ":50051"}) {
    ClientOptions options = Valid();
    options.address = address;
    EXPECT_THAT(ValidateOptions(options),
                StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("address: ")))
        << address;
  }
}

TEST(ClientOptionsTest, RefusesEachBrokenRuleNamingTheField) {
  struct Case {
    const char* field;
    std::function<void(ClientOptions&)> change;
  };
  const Case cases[] = {
      {"deadline", [](ClientOptions& o) { o.deadline = absl::ZeroDuration(); }},
      {"token", [](ClientOptions& o) { o.token = "two words"; }},
      {"token", [](ClientOptions& o) { o.token = "line\nbreak"; }},
      {"key_file", [](ClientOptions& o) { o.cert_file = "client.pem"; }},
      {"cert_file", [](ClientOptions& o) { o.key_file = "client.key"; }},
      {"server_name", [](ClientOptions& o) { o.server_name = "esgw.example.com"; }},
      {"keepalive_time", [](ClientOptions& o) { o.keepalive_time = absl::Seconds(1); }},
      {"keepalive_timeout", [](ClientOptions& o) { o.keepalive_timeout = absl::ZeroDuration(); }},
      {"max_receive_message_bytes", [](ClientOptions& o) { o.max_receive_message_bytes = 0; }},
  };
  for (const Case& c : cases) {
    ClientOptions options = Valid();
    c.change(options);
    EXPECT_THAT(ValidateOptions(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   StartsWith(std::string(c.field) + ": ")))
        << c.field;
  }
}

TEST(ClientOptionsTest, TlsIsOnWithAnyTlsSettingAndServerNameNeedsIt) {
  ClientOptions options = Valid();
  EXPECT_FALSE(options.UsesTls());
  options.ca_file = "ca.pem";
  EXPECT_TRUE(options.UsesTls());
  options.server_name = "esgw.example.com";
  EXPECT_THAT(ValidateOptions(options), IsOk());
  options = Valid();
  options.tls = true;
  options.server_name = "esgw.example.com";
  EXPECT_THAT(ValidateOptions(options), IsOk());
  options.keepalive_time = absl::ZeroDuration();  // off is allowed
  EXPECT_THAT(ValidateOptions(options), IsOk());
}

TEST(ClientOptionsTest, CreateChannelNamesTheTlsFileItCannotRead) {
  ClientOptions options = Valid();
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(CreateChannel(options),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("ca_file: cannot read")));
  options = Valid();
  options.address = "nonsense";
  EXPECT_THAT(CreateChannel(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ServiceConfigTest, RetriesExactlyTheIdempotentMethodsOnUnavailable) {
  google::protobuf::Struct config;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(ServiceConfigJson(), &config).ok())
      << ServiceConfigJson();
  const auto& method_configs = config.fields().at("methodConfig").list_value();
  ASSERT_EQ(method_configs.values_size(), 1);
  const auto& method_config = method_configs.values(0).struct_value().fields();

  std::set<std::string> names;
  for (const auto& name : method_config.at("name").list_value().values()) {
    const auto& fields = name.struct_value().fields();
    names.insert(fields.at("service").string_value() + "/" + fields.at("method").string_value());
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"esgw.v1.Gateway/Search", "esgw.v1.Gateway/MultiSearch",
                                   "esgw.v1.Gateway/Count", "esgw.v1.Gateway/Get",
                                   "esgw.v1.Admin/GetPoolStats", "esgw.v1.Admin/GetHealth"}));
  for (const char* never : {"esgw.v1.Gateway/Bulk", "esgw.v1.Gateway/Ingest", "esgw.v1.Admin/Sniff",
                            "esgw.v1.Admin/WatchPoolStats"}) {
    EXPECT_EQ(names.count(never), 0u) << never << " is not idempotent or is a stream";
  }

  const auto& retry = method_config.at("retryPolicy").struct_value().fields();
  EXPECT_EQ(retry.at("maxAttempts").number_value(), 4);
  EXPECT_EQ(retry.at("initialBackoff").string_value(), "0.100s");
  EXPECT_EQ(retry.at("maxBackoff").string_value(), "2.000s");
  EXPECT_EQ(retry.at("backoffMultiplier").number_value(), 2);
  const auto& codes = retry.at("retryableStatusCodes").list_value();
  ASSERT_EQ(codes.values_size(), 1);
  EXPECT_EQ(codes.values(0).string_value(), "UNAVAILABLE");

  const auto& throttling = config.fields().at("retryThrottling").struct_value().fields();
  EXPECT_GT(throttling.at("maxTokens").number_value(), 0);
  EXPECT_GT(throttling.at("tokenRatio").number_value(), 0);
}

TEST(ServiceConfigTest, FollowsThePolicyItIsGiven) {
  google::protobuf::Struct config;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  ServiceConfigJson({.max_attempts = 5,
                                     .initial_backoff = absl::Milliseconds(250),
                                     .max_backoff = absl::Seconds(10),
                                     .backoff_multiplier = 1.5}),
                  &config)
                  .ok());
  const auto& retry = config.fields()
                          .at("methodConfig")
                          .list_value()
                          .values(0)
                          .struct_value()
                          .fields()
                          .at("retryPolicy")
                          .struct_value()
                          .fields();
  EXPECT_EQ(retry.at("maxAttempts").number_value(), 5);
  EXPECT_EQ(retry.at("initialBackoff").string_value(), "0.250s");
  EXPECT_EQ(retry.at("maxBackoff").string_value(), "10.000s");
  EXPECT_EQ(retry.at("backoffMultiplier").number_value(), 1.5);
}

// The channel arguments as name -> value (integers as decimal text).
std::map<std::string, std::string> ArgsOf(const grpc::ChannelArguments& args) {
  std::map<std::string, std::string> out;
  const grpc_channel_args c_args = args.c_channel_args();
  for (size_t i = 0; i < c_args.num_args; ++i) {
    const grpc_arg& arg = c_args.args[i];
    out[arg.key] = arg.type == GRPC_ARG_INTEGER  ? std::to_string(arg.value.integer)
                   : arg.type == GRPC_ARG_STRING ? std::string(arg.value.string)
                                                 : "<pointer>";
  }
  return out;
}

TEST(ChannelArgsTest, CarryKeepaliveServiceConfigLimitsAndNames) {
  ClientOptions options = Valid();
  options.keepalive_time = absl::Seconds(45);
  options.keepalive_timeout = absl::Seconds(5);
  options.keepalive_without_calls = true;
  options.user_agent = "esgw-cli/test";
  options.tls = true;
  options.server_name = "esgw.example.com";
  const std::map<std::string, std::string> args = ArgsOf(ChannelArgs(options));
  EXPECT_EQ(args.at(GRPC_ARG_KEEPALIVE_TIME_MS), "45000");
  EXPECT_EQ(args.at(GRPC_ARG_KEEPALIVE_TIMEOUT_MS), "5000");
  EXPECT_EQ(args.at(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS), "1");
  EXPECT_EQ(args.at(GRPC_ARG_SERVICE_CONFIG), ServiceConfigJson());
  EXPECT_EQ(args.at(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION), "1");
  EXPECT_EQ(args.at(GRPC_ARG_ENABLE_RETRIES), "1");
  EXPECT_EQ(args.at(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH), std::to_string(64 << 20));
  EXPECT_EQ(args.at(GRPC_ARG_PRIMARY_USER_AGENT_STRING), "esgw-cli/test");
  EXPECT_EQ(args.at(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG), "esgw.example.com");
}

TEST(ChannelArgsTest, KeepaliveOffSetsNoPings) {
  ClientOptions options = Valid();
  options.keepalive_time = absl::ZeroDuration();
  const std::map<std::string, std::string> args = ArgsOf(ChannelArgs(options));
  EXPECT_EQ(args.count(GRPC_ARG_KEEPALIVE_TIME_MS), 0u);
  EXPECT_EQ(args.count(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG), 0u);
}

}  // namespace
}  // namespace esgw::client
