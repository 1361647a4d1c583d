// esgw-devcluster: serves a multi-node Elasticsearch 8 stand-in on loopback plus a control API
// for fault injection. See tests/devcluster/README.md.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tests/devcluster/dev_cluster_server.h"
#include "tests/devcluster/sample_data.h"

ABSL_FLAG(int, nodes, 3, "Number of data nodes.");
ABSL_FLAG(int, base_port, 9200,
          "Node i listens on 127.0.0.1:base_port+i. 0 picks free ports for every node and for "
          "the control API.");
ABSL_FLAG(int, control_port, -1, "Control API port; default base_port+100 (free port if 0).");
ABSL_FLAG(std::string, port_file, "",
          "Once every listener is bound, write {\"nodes\":[...],\"control\":...} here "
          "(atomically, via rename).");
ABSL_FLAG(bool, sample_data, false, "Load the built-in 'products' and 'logs' indices.");
ABSL_FLAG(std::string, load_sample_data_into, "",
          "Instead of serving: load the sample data into the Elasticsearch at this host:port "
          "(plain http), then exit; 0 on success.");
ABSL_FLAG(bool, discard_writes, false,
          "Benchmarks: answer _bulk items as created without storing them.");
ABSL_FLAG(std::string, cluster_name, "esgw-devcluster", "Reported cluster name.");
// A string rather than absl::Duration: GetFlag<absl::Duration> does not build under
// -fsanitize=thread -Werror with GCC 12 (abseil's sequence lock uses atomic_thread_fence).
ABSL_FLAG(std::string, keepalive_timeout, "0",
          "Close keep-alive connections idle this long (absl duration: 500ms, 30s); 0 = never.");
ABSL_FLAG(int, max_requests_per_connection, 0,
          "Answer 'connection: close' after this many requests on one connection; 0 = no limit.");
ABSL_FLAG(int, master_only_nodes, 0, "Extra nodes with only the master role.");
ABSL_FLAG(int, coordinating_nodes, 0, "Extra coordinating-only nodes (no roles).");
ABSL_FLAG(std::string, publish_format, "ip",
          "publish_address format in _nodes/http: ip (127.0.0.1:9201), hostip "
          "(localhost/127.0.0.1:9201) or hostname (localhost:9201).");
ABSL_FLAG(std::string, unreachable_publish, "",
          "Advertise 10.255.255.1 as the publish address of these nodes: 'all' or indices like "
          "'0,2'.");

namespace {

bool WritePortFile(const std::string& path, const std::string& content) {
  std::string temp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(temp, std::ios::trunc);
    out << content << "\n";
    out.close();
    if (!out) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("An Elasticsearch 8 stand-in with fault injection, for esgw.");
  absl::ParseCommandLine(argc, argv);
  if (const std::string target = absl::GetFlag(FLAGS_load_sample_data_into); !target.empty()) {
    const absl::Status loaded = esgw::devcluster::LoadSampleDataOverHttp(target);
    if (!loaded.ok()) {
      std::cerr << "esgw-devcluster: " << loaded.message() << std::endl;
      return 1;
    }
    return 0;
  }

  // Every thread inherits this mask, so only sigwait below sees SIGTERM/SIGINT.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  esgw::devcluster::DevClusterServer::Options options;
  options.nodes = absl::GetFlag(FLAGS_nodes);
  options.base_port = absl::GetFlag(FLAGS_base_port);
  options.control_port = absl::GetFlag(FLAGS_control_port);
  options.sample_data = absl::GetFlag(FLAGS_sample_data);
  options.cluster_name = absl::GetFlag(FLAGS_cluster_name);
  if (!absl::ParseDuration(absl::GetFlag(FLAGS_keepalive_timeout), &options.keepalive_timeout) ||
      options.keepalive_timeout < absl::ZeroDuration()) {
    std::cerr << "esgw-devcluster: bad --keepalive_timeout" << std::endl;
    return 1;
  }
  options.max_requests_per_connection = absl::GetFlag(FLAGS_max_requests_per_connection);
  options.master_only_nodes = absl::GetFlag(FLAGS_master_only_nodes);
  options.coordinating_nodes = absl::GetFlag(FLAGS_coordinating_nodes);
  options.publish_format = absl::GetFlag(FLAGS_publish_format);
  options.unreachable_publish = absl::GetFlag(FLAGS_unreachable_publish);

  auto cluster = esgw::devcluster::DevClusterServer::Start(options);
  if (!cluster.ok()) {
    std::cerr << "esgw-devcluster: " << cluster.status() << std::endl;
    return 1;
  }
  (*cluster)->state().SetDiscardWrites(absl::GetFlag(FLAGS_discard_writes));
  const auto& description = (*cluster)->cluster();
  std::vector<std::string> addresses = (*cluster)->node_addresses();
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    std::cerr << "esgw-devcluster: node " << description.nodes[i].name << " ("
              << description.nodes[i].id << ", roles ["
              << absl::StrJoin(description.nodes[i].roles, ",") << "]) on http://" << addresses[i]
              << std::endl;
  }
  std::cerr << "esgw-devcluster: control API on http://" << (*cluster)->control_address()
            << std::endl;
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() && !WritePortFile(port_file, (*cluster)->PortFileJson())) {
    std::cerr << "esgw-devcluster: cannot write " << port_file << std::endl;
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cerr << "esgw-devcluster: signal " << signal_number << ", shutting down" << std::endl;
  (*cluster)->Shutdown();
  return 0;
}
