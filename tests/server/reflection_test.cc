// Server reflection over a real loopback server: our v1 service (ReflectionV1Service) and gRPC's
// v1alpha plugin, called with real stubs. Integration layer: it opens sockets.
#include <gmock/gmock.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/text_format.h"
#include "server/reflection_service.h"

namespace esgw::server {
namespace {

using ::google::protobuf::FileDescriptorProto;
using ::grpc::reflection::v1::ServerReflection;
using ::grpc::reflection::v1::ServerReflectionRequest;
using ::grpc::reflection::v1::ServerReflectionResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::UnorderedElementsAre;

constexpr char kV1AlphaMethod[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

// Services with no overrides: every method answers UNIMPLEMENTED, which is all reflection needs.
// Registering them also links their generated code, which puts their files in the generated pool.
class EmptyAdmin final : public esgw::v1::Admin::CallbackService {};
class EmptyGateway final : public esgw::v1::Gateway::CallbackService {};

const std::vector<std::string>& AdvertisedNames() {
  static const auto* const names = new std::vector<std::string>{
      "esgw.v1.Gateway", "esgw.v1.Admin", "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection"};
  return *names;
}

ServerReflectionRequest ListServices() {
  ServerReflectionRequest request;
  request.set_list_services("*");
  return request;
}

ServerReflectionRequest FileContainingSymbol(const std::string& symbol) {
  ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  return request;
}

ServerReflectionRequest FileByFilename(const std::string& name) {
  ServerReflectionRequest request;
  request.set_file_by_filename(name);
  return request;
}

ServerReflectionRequest FileContainingExtension(const std::string& type, int number) {
  ServerReflectionRequest request;
  request.mutable_file_containing_extension()->set_containing_type(type);
  request.mutable_file_containing_extension()->set_extension_number(number);
  return request;
}

ServerReflectionRequest AllExtensionNumbersOf(const std::string& type) {
  ServerReflectionRequest request;
  request.set_all_extension_numbers_of_type(type);
  return request;
}

std::vector<std::string> ServiceNames(const ServerReflectionResponse& response) {
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  return names;
}

// The files of a FileDescriptorResponse, parsed; an unparsable entry fails the test.
std::vector<FileDescriptorProto> Files(const ServerReflectionResponse& response) {
  std::vector<FileDescriptorProto> files;
  for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes)) << "unparsable FileDescriptorProto";
    files.push_back(std::move(file));
  }
  return files;
}

std::vector<std::string> FileNames(const ServerReflectionResponse& response) {
  std::vector<std::string> names;
  for (const FileDescriptorProto& file : Files(response)) names.push_back(file.name());
  return names;
}

// One v1 reflection stream on a blocking stub, bounded by a deadline.
class V1Stream {
 public:
  explicit V1Stream(ServerReflection::Stub& stub) {
    context_.set_deadline(Deadline());
    stream_ = stub.ServerReflectionInfo(&context_);
  }
  ~V1Stream() {
    if (!finished_) {
      context_.TryCancel();
      stream_->Finish();
    }
  }

  ::testing::AssertionResult Ask(const ServerReflectionRequest& request,
                                 ServerReflectionResponse* response) {
    if (!stream_->Write(request)) return ::testing::AssertionFailure() << "write failed";
    if (!stream_->Read(response)) return ::testing::AssertionFailure() << "no response";
    return ::testing::AssertionSuccess();
  }

  // Writes without waiting for the answer.
  bool Send(const ServerReflectionRequest& request) { return stream_->Write(request); }

  // Half-closes and returns the status the server finished with.
  grpc::Status Close() {
    stream_->WritesDone();
    finished_ = true;
    return stream_->Finish();
  }

  // Cancels the call and returns the status the client saw.
  grpc::Status Cancel() {
    context_.TryCancel();
    finished_ = true;
    return stream_->Finish();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ServerReflectionRequest, ServerReflectionResponse>>
      stream_;
  bool finished_ = false;
};

// Sends one request to gRPC's own v1alpha service and parses the reply as v1. Debian ships no
// v1alpha header, but its messages are the v1 ones on the wire, so a generic stub carrying v1
// bytes is enough.
class V1AlphaCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ::testing::AssertionResult Run(grpc::GenericStub& stub, const ServerReflectionRequest& request,
                                 ServerReflectionResponse* response) {
    grpc::Slice slice(request.SerializeAsString());
    request_ = grpc::ByteBuffer(&slice, 1);
    context_.set_deadline(Deadline());
    stub.PrepareBidiStreamingCall(&context_, kV1AlphaMethod, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&reply_);
    StartCall();
    // The deadline guarantees OnDone; the reactor must not go away before it.
    const grpc::Status status = done_.get_future().get();
    if (!status.ok()) {
      return ::testing::AssertionFailure() << "v1alpha call failed: " << status.error_message();
    }
    if (!got_reply_) return ::testing::AssertionFailure() << "v1alpha sent no reply";
    std::vector<grpc::Slice> slices;
    if (!reply_.Dump(&slices).ok()) return ::testing::AssertionFailure() << "bad reply buffer";
    std::string bytes;
    for (const grpc::Slice& part : slices) {
      bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
    if (!response->ParseFromString(bytes)) {
      return ::testing::AssertionFailure() << "v1alpha reply does not parse as v1";
    }
    return ::testing::AssertionSuccess();
  }

  void OnReadDone(bool ok) override { got_reply_ = ok; }
  void OnDone(const grpc::Status& status) override { done_.set_value(status); }

 private:
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
  bool got_reply_ = false;
  std::promise<grpc::Status> done_;
};

// A loopback server with the esgw services, our v1 reflection and gRPC's v1alpha plugin.
class TestServer {
 public:
  explicit TestServer(const google::protobuf::DescriptorPool* pool =
                          google::protobuf::DescriptorPool::generated_pool())
      : reflection_(AdvertisedNames(), pool) {
    // Must come before the builder: ServerBuilder picks up plugins in its constructor.
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&gateway_);
    builder.RegisterService(&admin_);
    builder.RegisterService(&reflection_);
    server_ = builder.BuildAndStart();
    if (server_ != nullptr && port_ != 0) {
      channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                     grpc::InsecureChannelCredentials());
      stub_ = ServerReflection::NewStub(channel_);
    }
  }
  ~TestServer() {
    if (server_ != nullptr) server_->Shutdown(Deadline());
  }

  bool started() const { return stub_ != nullptr; }
  ServerReflection::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  EmptyGateway gateway_;
  EmptyAdmin admin_;
  ReflectionV1Service reflection_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ServerReflection::Stub> stub_;
};

class ReflectionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()) << "server did not start"; }

  TestServer server_;
};

TEST_F(ReflectionTest, ListServicesReturnsTheAdvertisedNames) {
  V1Stream stream(server_.stub());
  ServerReflectionRequest request = ListServices();
  request.set_host("reflection.test");
  ServerReflectionResponse response;
  ASSERT_TRUE(stream.Ask(request, &response));

  EXPECT_EQ(ServiceNames(response), AdvertisedNames());
  EXPECT_EQ(response.valid_host(), "reflection.test");
  EXPECT_EQ(response.original_request().list_services(), "*");
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionTest, ServiceSymbolReturnsItsFileAndImportsThatBuildAPool) {
  V1Stream stream(server_.stub());
  ServerReflectionResponse response;
  ASSERT_TRUE(stream.Ask(FileContainingSymbol("esgw.v1.Gateway"), &response));
  ASSERT_EQ(response.message_response_case(), ServerReflectionResponse::kFileDescriptorResponse)
      << response.DebugString();

  std::vector<std::string> names = FileNames(response);
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "esgw/v1/gateway.proto");
  EXPECT_THAT(names, UnorderedElementsAre("esgw/v1/gateway.proto", "esgw/v1/common.proto",
                                          "google/protobuf/struct.proto"));

  // The files are complete enough for a client to rebuild the service from them alone.
  google::protobuf::SimpleDescriptorDatabase database;
  for (const FileDescriptorProto& file : Files(response)) ASSERT_TRUE(database.Add(file));
  google::protobuf::DescriptorPool pool(&database);
  const google::protobuf::ServiceDescriptor* gateway = pool.FindServiceByName("esgw.v1.Gateway");
  ASSERT_NE(gateway, nullptr);
  const google::protobuf::MethodDescriptor* search = gateway->FindMethodByName("Search");
  ASSERT_NE(search, nullptr);
  EXPECT_EQ(search->input_type()->full_name(), "esgw.v1.SearchRequest");
  EXPECT_EQ(search->output_type()->full_name(), "esgw.v1.SearchResponse");
  const google::protobuf::MethodDescriptor* ingest = gateway->FindMethodByName("Ingest");
  ASSERT_NE(ingest, nullptr);
  EXPECT_TRUE(ingest->client_streaming());
  EXPECT_TRUE(ingest->server_streaming());
  const google::protobuf::FieldDescriptor* body_struct =
      pool.FindFieldByName("esgw.v1.SearchRequest.body_struct");
  ASSERT_NE(body_struct, nullptr);
  EXPECT_EQ(body_struct->message_type()->full_name(), "google.protobuf.Struct");
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionTest, MethodMessageNestedEnumAndFieldSymbolsResolve) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"esgw.v1.Gateway.Search", "esgw/v1/gateway.proto"},
      {"esgw.v1.SearchRequest", "esgw/v1/gateway.proto"},
      {"esgw.v1.TotalHits.Relation", "esgw/v1/gateway.proto"},
      {"esgw.v1.SearchRequest.body_json", "esgw/v1/gateway.proto"},
      {"esgw.v1.Admin.WatchPoolStats", "esgw/v1/admin.proto"},
      {"esgw.v1.NodeState", "esgw/v1/admin.proto"},
      {"esgw.v1.NODE_STATE_ALIVE", "esgw/v1/admin.proto"},
      {"esgw.v1.BulkOp", "esgw/v1/common.proto"},
  };
  V1Stream stream(server_.stub());
  for (const auto& [symbol, file] : cases) {
    ServerReflectionResponse response;
    ASSERT_TRUE(stream.Ask(FileContainingSymbol(symbol), &response)) << symbol;
    std::vector<std::string> names = FileNames(response);
    ASSERT_FALSE(names.empty()) << symbol << ": " << response.DebugString();
    EXPECT_EQ(names.front(), file) << symbol;
  }
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionTest, UnknownSymbolIsNotFoundAndTheStreamGoesOn) {
  V1Stream stream(server_.stub());
  for (const std::string symbol : {"esgw.v1.NoSuchService", "esgw.v1.Gateway.NoSuchMethod"}) {
    ServerReflectionResponse response;
    ASSERT_TRUE(stream.Ask(FileContainingSymbol(symbol), &response));
    ASSERT_EQ(response.message_response_case(), ServerReflectionResponse::kErrorResponse)
        << response.DebugString();
    EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(response.error_response().error_message(), HasSubstr(symbol));
    EXPECT_EQ(response.original_request().file_containing_symbol(), symbol);
  }

  ServerReflectionResponse response;
  ASSERT_TRUE(stream.Ask(ListServices(), &response));
  EXPECT_EQ(ServiceNames(response), AdvertisedNames());
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionTest, FileByFilenameReturnsTheFileAndItsImports) {
  V1Stream stream(server_.stub());
  ServerReflectionResponse response;
  ASSERT_TRUE(stream.Ask(FileByFilename("esgw/v1/admin.proto"), &response));
  std::vector<FileDescriptorProto> files = Files(response);
  ASSERT_EQ(files.size(), 3u) << response.DebugString();
  EXPECT_EQ(files[0].name(), "esgw/v1/admin.proto");
  EXPECT_EQ(files[0].package(), "esgw.v1");
  EXPECT_THAT(files[0].dependency(), UnorderedElementsAre("google/protobuf/duration.proto",
                                                          "google/protobuf/timestamp.proto"));
  EXPECT_THAT(FileNames(response),
              UnorderedElementsAre("esgw/v1/admin.proto", "google/protobuf/duration.proto",
                                   "google/protobuf/timestamp.proto"));

  ASSERT_TRUE(stream.Ask(FileByFilename("esgw/v1/no_such.proto"), &response));
  EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(response.error_response().error_message(), HasSubstr("esgw/v1/no_such.proto"));
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionTest, ImportsAreSentOncePerStreamButTheAskedFileAlways) {
  V1Stream first(server_.stub());
  ServerReflectionResponse response;
  ASSERT_TRUE(first.Ask(FileContainingSymbol("esgw.v1.Gateway"), &response));
  EXPECT_EQ(FileNames(response).size(), 3u);
  ASSERT_TRUE(first.Ask(FileContainingSymbol("esgw.v1.Gateway.Search"), &response));
  EXPECT_THAT(FileNames(response), ElementsAre("esgw/v1/gateway.proto"));
  // common.proto went out as an import, but asked for by name it comes again.
  ASSERT_TRUE(first.Ask(FileByFilename("esgw/v1/common.proto"), &response));
  EXPECT_THAT(FileNames(response), ElementsAre("esgw/v1/common.proto"));
  EXPECT_TRUE(first.Close().ok());

  // A new stream starts from nothing.
  V1Stream second(server_.stub());
  ASSERT_TRUE(second.Ask(FileContainingSymbol("esgw.v1.Gateway.Search"), &response));
  EXPECT_EQ(FileNames(response).size(), 3u);
  EXPECT_TRUE(second.Close().ok());
}

TEST_F(ReflectionTest, GeneratedMessagesHaveNoExtensions) {
  V1Stream stream(server_.stub());
  ServerReflectionResponse response;
  ASSERT_TRUE(stream.Ask(AllExtensionNumbersOf("esgw.v1.SearchRequest"), &response));
  ASSERT_EQ(response.message_response_case(),
            ServerReflectionResponse::kAllExtensionNumbersResponse)
      << response.DebugString();
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(), "esgw.v1.SearchRequest");
  EXPECT_EQ(response.all_extension_numbers_response().extension_number_size(), 0);

  ASSERT_TRUE(stream.Ask(AllExtensionNumbersOf("esgw.v1.NoSuchMessage"), &response));
  EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionTest, RequestWithoutQuestionIsUnimplemented) {
  V1Stream stream(server_.stub());
  ServerReflectionRequest request;
  request.set_host("h");
  ServerReflectionResponse response;
  ASSERT_TRUE(stream.Ask(request, &response));
  EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionTest, CancelledStreamLeavesTheServerServing) {
  {
    V1Stream stream(server_.stub());
    ServerReflectionResponse response;
    ASSERT_TRUE(stream.Ask(ListServices(), &response));
    EXPECT_EQ(stream.Cancel().error_code(), grpc::StatusCode::CANCELLED);
  }
  {
    // Cancelled while the server may still be answering: its write fails instead of its read.
    V1Stream stream(server_.stub());
    ASSERT_TRUE(stream.Send(FileContainingSymbol("esgw.v1.Gateway")));
    ASSERT_TRUE(stream.Send(ListServices()));
    EXPECT_EQ(stream.Cancel().error_code(), grpc::StatusCode::CANCELLED);
  }
  V1Stream stream(server_.stub());
  ServerReflectionResponse response;
  ASSERT_TRUE(stream.Ask(ListServices(), &response));
  EXPECT_EQ(ServiceNames(response), AdvertisedNames());
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ReflectionTest, ConcurrentStreamsEachGetTheirOwnAnswers) {
  constexpr int kStreams = 8;
  constexpr int kQuestions = 20;
  std::vector<int> answered(kStreams, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kStreams; ++t) {
    threads.emplace_back([this, t, &answered] {
      V1Stream stream(server_.stub());
      for (int i = 0; i < kQuestions; ++i) {
        const std::string symbol = i % 2 == 0 ? "esgw.v1.Gateway.Search" : "esgw.v1.PoolStats";
        ServerReflectionResponse response;
        if (!stream.Ask(FileContainingSymbol(symbol), &response)) return;
        if (response.original_request().file_containing_symbol() != symbol) return;
        if (response.file_descriptor_response().file_descriptor_proto_size() == 0) return;
        ++answered[t];
      }
      if (stream.Close().ok()) ++answered[t];
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(answered, ::testing::Each(kQuestions + 1));
}

TEST_F(ReflectionTest, V1AlphaFromGrpcsPluginAlsoListsServices) {
  grpc::GenericStub stub(server_.channel());
  ServerReflectionResponse response;
  V1AlphaCall call;
  ASSERT_TRUE(call.Run(stub, ListServices(), &response));
  // v1alpha lists every registered service by itself.
  EXPECT_THAT(ServiceNames(response), IsSupersetOf({"esgw.v1.Gateway", "esgw.v1.Admin",
                                                    "grpc.reflection.v1.ServerReflection"}));
}

// Extensions need a proto2 file; the esgw protos have none, so this server answers from a pool
// built here.
constexpr char kBaseFile[] = R"pb(
  name: "test/base.proto"
  package: "test"
  syntax: "proto2"
  message_type {
    name: "Base"
    extension_range { start: 100 end: 200 }
  }
  extension { name: "a" number: 100 label: LABEL_OPTIONAL type: TYPE_INT32 extendee: ".test.Base" }
)pb";
constexpr char kMoreFile[] = R"pb(
  name: "test/more.proto"
  package: "test.more"
  syntax: "proto2"
  dependency: "test/base.proto"
  extension { name: "b" number: 150 label: LABEL_OPTIONAL type: TYPE_STRING extendee: ".test.Base" }
)pb";

TEST(ReflectionExtensionsTest, ExtensionsResolveToTheirFileAndAreListed) {
  google::protobuf::DescriptorPool pool;
  for (const char* text : {kBaseFile, kMoreFile}) {
    FileDescriptorProto file;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &file));
    ASSERT_NE(pool.BuildFile(file), nullptr) << file.name();
  }
  TestServer server(&pool);
  ASSERT_TRUE(server.started());
  V1Stream stream(server.stub());
  ServerReflectionResponse response;

  ASSERT_TRUE(stream.Ask(AllExtensionNumbersOf("test.Base"), &response));
  EXPECT_EQ(response.all_extension_numbers_response().base_type_name(), "test.Base");
  EXPECT_THAT(response.all_extension_numbers_response().extension_number(),
              UnorderedElementsAre(100, 150));

  ASSERT_TRUE(stream.Ask(FileContainingExtension("test.Base", 150), &response));
  EXPECT_THAT(FileNames(response), ElementsAre("test/more.proto", "test/base.proto"));
  ASSERT_TRUE(stream.Ask(FileContainingExtension("test.Base", 100), &response));
  EXPECT_THAT(FileNames(response), ElementsAre("test/base.proto"));

  ASSERT_TRUE(stream.Ask(FileContainingExtension("test.Base", 120), &response));
  EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(response.error_response().error_message(), HasSubstr("120"));
  ASSERT_TRUE(stream.Ask(FileContainingExtension("test.NoSuch", 100), &response));
  EXPECT_EQ(response.error_response().error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(stream.Ask(FileContainingSymbol("test.more.b"), &response));
  EXPECT_THAT(FileNames(response), ElementsAre("test/more.proto"));
  EXPECT_TRUE(stream.Close().ok());
}

}  // namespace
}  // namespace esgw::server
