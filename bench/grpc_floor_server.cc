// esgw-grpc-floor: a gRPC server that answers esgw.v1.Gateway/Search at once with a canned
// answer, built at start from an Elasticsearch _search body by esgw's own parser. It does no
// HTTP, no pooling and no JSON work per call, and serves through the same gRPC library and
// callback API as esgw-server, so esgw-bench against it measures what gRPC itself costs on this
// machine: the floor under esgw's figures (`make bench` runs it next to esgw). It also answers
// Admin/GetPoolStats with an empty pool, which esgw-bench asks for before and after a run.
//
//   esgw-grpc-floor --search_body=bench/backend/search.json --port_file=/tmp/floor.port
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "server/es_response.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "gRPC listen address, host:port (port 0: any)");
ABSL_FLAG(std::string, port_file, "", "file to write the bound port to, once serving");
ABSL_FLAG(std::string, search_body, "", "Elasticsearch _search response body (JSON) to answer");

namespace {

class FloorGateway final : public esgw::v1::Gateway::CallbackService {
 public:
  explicit FloorGateway(esgw::v1::SearchResponse answer) : answer_(std::move(answer)) {}

  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* context,
                                   const esgw::v1::SearchRequest*,
                                   esgw::v1::SearchResponse* response) override {
    *response = answer_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const esgw::v1::SearchResponse answer_;
};

class FloorAdmin final : public esgw::v1::Admin::CallbackService {
  grpc::ServerUnaryReactor* GetPoolStats(grpc::CallbackServerContext* context,
                                         const esgw::v1::GetPoolStatsRequest*,
                                         esgw::v1::PoolStats*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "a gRPC server answering Search with a canned answer, for the floor under esgw's "
      "figures.\n  esgw-grpc-floor --search_body=FILE [--listen=HOST:PORT] [--port_file=FILE]");
  absl::ParseCommandLine(argc, argv);
  const std::string body_file = absl::GetFlag(FLAGS_search_body);
  if (body_file.empty()) {
    std::fprintf(stderr, "esgw-grpc-floor: --search_body is required\n");
    return 2;
  }
  std::ifstream in(body_file, std::ios::binary);
  const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    std::fprintf(stderr, "esgw-grpc-floor: cannot read --search_body '%s'\n", body_file.c_str());
    return 2;
  }
  esgw::v1::SearchResponse answer;
  if (absl::Status parsed = esgw::ParseSearchResponse(absl::string_view(body), &answer);
      !parsed.ok()) {
    std::fprintf(stderr, "esgw-grpc-floor: --search_body '%s': %s\n", body_file.c_str(),
                 std::string(parsed.message()).c_str());
    return 2;
  }

  FloorGateway gateway(std::move(answer));
  FloorAdmin admin;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&gateway);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "esgw-grpc-floor: cannot listen on %s\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    // Written whole under another name, then renamed, so a reader never sees half of it.
    const std::string partial = port_file + ".partial";
    std::ofstream(partial) << port << "\n";
    if (std::rename(partial.c_str(), port_file.c_str()) != 0) {
      std::fprintf(stderr, "esgw-grpc-floor: cannot write --port_file '%s'\n", port_file.c_str());
      return 1;
    }
  }
  server->Wait();
  return 0;
}
