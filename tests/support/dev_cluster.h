// Test helpers around the esgw-devcluster binary: BinDir() finds built programs, ReadPortFile()
// waits for a child's port file, and DevCluster runs a dev cluster as a child process on free
// loopback ports and drives its control API (kill, hang, slow, status, reset ... see
// tests/devcluster/README.md).
// DevCluster is thread-safe for its const methods and for the control calls (each is one HTTP
// request); it owns the child process, which it stops in its destructor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/subprocess.h"

namespace esgw::testing {

// Directory of the built binaries: env ESGW_BIN_DIR, else the directory of /proc/self/exe.
std::string BinDir();

// The value of ESGW_TEST_ES_URL (a real Elasticsearch to test against), or "" when unset.
std::string ExternalEsUrl();

// "host:port" of ESGW_TEST_ES_URL, which must be http://host:port (an optional trailing '/').
// INVALID_ARGUMENT saying so otherwise.
absl::StatusOr<std::string> ExternalEsAddress();

// Waits until the JSON port file at `path` exists and holds a complete line, then returns it.
// kDeadlineExceeded after `timeout`; kFailedPrecondition (with its log) when `child` exits first.
absl::StatusOr<std::string> ReadPortFile(const std::string& path, absl::Duration timeout,
                                         Subprocess* child = nullptr);

// A dev cluster run as a child process on free ports, with its control API.
class DevCluster {
 public:
  struct Options {
    int nodes = 3;
    bool sample_data = false;
    int master_only_nodes = 0;
    int coordinating_nodes = 0;
    std::vector<std::string> extra_flags = {};  // e.g. "--keepalive_timeout=200ms"
  };

  // Starts build/bin/esgw-devcluster with --base_port=0 and waits (up to 15 s) for its port file.
  // Errors: kNotFound when the binary is missing, kFailedPrecondition (with the child's log) when
  // it exits early, kDeadlineExceeded when it never reports its ports.
  static absl::StatusOr<std::unique_ptr<DevCluster>> Start(Options options);
  ~DevCluster();

  // Every node, data nodes first, then master-only, then coordinating ones: "127.0.0.1:port".
  const std::vector<std::string>& node_addresses() const { return node_addresses_; }
  std::string NodeUrl(int i) const;  // "http://127.0.0.1:port"
  // Comma-separated URLs of the data nodes, for esgw-server's --es_nodes.
  std::string SeedsFlag() const;
  const std::string& control_address() const { return control_address_; }

  // Control API. Each returns kInternal with the control API's answer when it refuses.
  absl::Status Kill(int node);
  absl::Status Revive(int node);
  absl::Status Hang(int node);
  absl::Status Heal(int node);
  absl::Status Slow(int node, absl::Duration d);
  absl::Status Status(int node, int http_code);
  // Node answers malformed responses of `kind` (truncated, invalid_json, html,
  // wrong_content_type, huge, empty, nodes_no_http, nodes_bad_address_type, nodes_bad_address,
  // nodes_no_roles, nodes_not_object) to requests whose path contains `path` (every request when
  // empty); huge_bytes sizes "huge" (0: the dev cluster's default). Heal or ResetAll stops it.
  absl::Status Malform(int node, const std::string& kind, const std::string& path = "",
                       int64_t huge_bytes = 0);
  absl::Status ResetNext(int node);
  absl::Status CloseIdle(int node);
  absl::Status BulkReject(int every);
  // Heals and revives all nodes, stops bulk rejection, zeroes stats; `wipe_data` also deletes
  // every index (and reloads the sample data when it was asked for).
  absl::Status ResetAll(bool wipe_data = false);
  absl::StatusOr<std::string> Stats();  // raw JSON of GET /stats
  // A numeric per-node field of GET /stats (e.g. "open_sockets", "bytes_in", or
  // "requests.bulk" for one endpoint's requests) summed over the nodes, or for one node when
  // node >= 0.
  absl::StatusOr<int64_t> NodeStat(const std::string& field, int node = -1);
  // Raw JSON of GET /docs/{index}; kNotFound when the index does not exist.
  absl::StatusOr<std::string> Docs(const std::string& index);

  // One request straight to node `node` on a fresh connection: {status, body}. Errors:
  // kUnavailable (refused, closed), kAborted (reset), kDeadlineExceeded (10 s).
  absl::StatusOr<std::pair<int, std::string>> Request(
      int node, const std::string& method, const std::string& path, const std::string& body = "",
      const std::string& content_type = "application/json");

  // What the child printed so far.
  std::string Log() const { return process_->Log(); }

 private:
  DevCluster() = default;
  absl::Status Control(const std::string& method, const std::string& path);
  absl::StatusOr<std::string> ControlGet(const std::string& path);

  Options options_;
  std::unique_ptr<Subprocess> process_;
  std::string temp_dir_;
  std::vector<std::string> node_addresses_;
  std::string control_address_;
};

// The cluster a gateway suite runs against: a dev cluster started for the suite or, when
// ESGW_TEST_ES_URL is set, that real cluster, with the sample data loaded into it when the
// options ask for it (devcluster::LoadSampleDataOverHttp). Cases that inject faults need dev() and
// skip when it is null.
class TestCluster {
 public:
  static absl::StatusOr<std::unique_ptr<TestCluster>> Start(DevCluster::Options options);

  // The dev cluster, or null when the suite runs against a real cluster.
  DevCluster* dev() const { return dev_.get(); }
  // Seed URLs for esgw-server's --es_nodes.
  std::string SeedsFlag() const;
  // host:port of the first data node (or of ESGW_TEST_ES_URL).
  std::string address() const;
  // True when served_by names a node of this cluster. For a real cluster esgw may dial the
  // sniffed publish addresses, which the suite cannot know, so any non-empty address counts.
  bool IsNodeAddress(const std::string& served_by) const;
  // One request straight to address() on a fresh connection: {status, body}. Errors as
  // DevCluster::Request.
  absl::StatusOr<std::pair<int, std::string>> Request(
      const std::string& method, const std::string& path, const std::string& body = "",
      const std::string& content_type = "application/json");

 private:
  std::unique_ptr<DevCluster> dev_;
  std::string external_address_;
};

}  // namespace esgw::testing
