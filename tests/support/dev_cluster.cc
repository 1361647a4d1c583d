#include "tests/support/dev_cluster.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "pool/status_macros.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/devcluster/json.h"
#include "tests/devcluster/sample_data.h"

namespace esgw::testing {
namespace {

using ::esgw::devcluster::HttpRequestOnce;
using ::esgw::devcluster::Json;
using ::esgw::devcluster::ParseJson;

}  // namespace

std::string BinDir() {
  const char* env = std::getenv("ESGW_BIN_DIR");
  if (env != nullptr && *env != '\0') return env;
  char buffer[4096];
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) return ".";
  std::string path(buffer, static_cast<std::size_t>(n));
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string ExternalEsUrl() {
  const char* env = std::getenv("ESGW_TEST_ES_URL");
  return env != nullptr ? env : "";
}

absl::StatusOr<std::string> ExternalEsAddress() {
  const std::string env = ExternalEsUrl();
  absl::string_view url = env;
  if (!absl::ConsumePrefix(&url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("ESGW_TEST_ES_URL must be http://host:port, got '", ExternalEsUrl(), "'"));
  }
  absl::ConsumeSuffix(&url, "/");
  if (url.empty() || absl::StrContains(url, "/") || absl::StrContains(url, "@")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ESGW_TEST_ES_URL must be http://host:port without a path, got '", ExternalEsUrl(), "'"));
  }
  return std::string(url);
}

absl::StatusOr<std::unique_ptr<TestCluster>> TestCluster::Start(DevCluster::Options options) {
  auto cluster = std::make_unique<TestCluster>();
  if (ExternalEsUrl().empty()) {
    ESGW_ASSIGN_OR_RETURN(cluster->dev_, DevCluster::Start(std::move(options)));
    return cluster;
  }
  ESGW_ASSIGN_OR_RETURN(cluster->external_address_, ExternalEsAddress());
  if (options.sample_data) {
    ESGW_RETURN_IF_ERROR(devcluster::LoadSampleDataOverHttp(cluster->external_address_));
  }
  return cluster;
}

std::string TestCluster::SeedsFlag() const {
  return dev_ != nullptr ? dev_->SeedsFlag() : absl::StrCat("http://", external_address_);
}

std::string TestCluster::address() const {
  return dev_ != nullptr ? dev_->node_addresses().front() : external_address_;
}

bool TestCluster::IsNodeAddress(const std::string& served_by) const {
  if (dev_ == nullptr) return !served_by.empty();
  const auto& nodes = dev_->node_addresses();
  return std::find(nodes.begin(), nodes.end(), served_by) != nodes.end();
}

absl::StatusOr<std::string> ReadPortFile(const std::string& path, absl::Duration timeout,
                                         Subprocess* child) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::ifstream in(path);
    if (in) {
      std::stringstream content;
      content << in.rdbuf();
      std::string text = content.str();
      // The writer renames a complete file into place; the newline is a second guard.
      if (!text.empty() && text.back() == '\n') return text;
    }
    if (child != nullptr && !child->Running()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the process exited before writing ", path, "; its log:\n", child->Log()));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no port file at ", path, " after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

absl::StatusOr<std::unique_ptr<DevCluster>> DevCluster::Start(Options options) {
  std::unique_ptr<DevCluster> cluster(new DevCluster());
  cluster->options_ = options;
  absl::StatusOr<std::string> dir = MakeTempDir("esgw-devcluster");
  if (!dir.ok()) return dir.status();
  cluster->temp_dir_ = *std::move(dir);
  const std::string port_file = absl::StrCat(cluster->temp_dir_, "/ports.json");
  std::vector<std::string> argv = {
      absl::StrCat(BinDir(), "/esgw-devcluster"),
      absl::StrCat("--nodes=", options.nodes),
      "--base_port=0",
      absl::StrCat("--port_file=", port_file),
      absl::StrCat("--master_only_nodes=", options.master_only_nodes),
      absl::StrCat("--coordinating_nodes=", options.coordinating_nodes),
  };
  if (options.sample_data) argv.push_back("--sample_data");
  for (const std::string& flag : options.extra_flags) argv.push_back(flag);
  ESGW_ASSIGN_OR_RETURN(cluster->process_, Subprocess::Start(argv));
  ESGW_ASSIGN_OR_RETURN(std::string ports,
                        ReadPortFile(port_file, absl::Seconds(15), cluster->process_.get()));
  std::optional<Json> json = ParseJson(ports);
  if (!json.has_value() || !json->contains("nodes") || !json->contains("control")) {
    return absl::InternalError(absl::StrCat("unreadable port file: ", ports));
  }
  for (const Json& address : (*json)["nodes"]) {
    cluster->node_addresses_.push_back(address.get<std::string>());
  }
  cluster->control_address_ = (*json)["control"].get<std::string>();
  return cluster;
}

DevCluster::~DevCluster() {
  process_.reset();
  if (!temp_dir_.empty()) {
    unlink(absl::StrCat(temp_dir_, "/ports.json").c_str());
    rmdir(temp_dir_.c_str());
  }
}

std::string DevCluster::NodeUrl(int i) const {
  return absl::StrCat("http://", node_addresses_.at(static_cast<std::size_t>(i)));
}

std::string DevCluster::SeedsFlag() const {
  std::vector<std::string> urls;
  for (int i = 0; i < options_.nodes; ++i) urls.push_back(NodeUrl(i));
  return absl::StrJoin(urls, ",");
}

absl::Status DevCluster::Control(const std::string& method, const std::string& path) {
  ESGW_ASSIGN_OR_RETURN(auto response, HttpRequestOnce(control_address_, method, path));
  if (response.status != 200) {
    return absl::InternalError(
        absl::StrCat(method, " ", path, " -> ", response.status, ": ", response.body));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DevCluster::ControlGet(const std::string& path) {
  ESGW_ASSIGN_OR_RETURN(auto response, HttpRequestOnce(control_address_, "GET", path));
  if (response.status != 200) {
    std::string message = absl::StrCat("GET ", path, " -> ", response.status, ": ", response.body);
    return response.status == 404 ? absl::NotFoundError(std::move(message))
                                  : absl::InternalError(std::move(message));
  }
  return response.body;
}

absl::Status DevCluster::Kill(int node) {
  return Control("POST", absl::StrCat("/nodes/", node, "/kill"));
}
absl::Status DevCluster::Revive(int node) {
  return Control("POST", absl::StrCat("/nodes/", node, "/revive"));
}
absl::Status DevCluster::Hang(int node) {
  return Control("POST", absl::StrCat("/nodes/", node, "/hang"));
}
absl::Status DevCluster::Heal(int node) {
  return Control("POST", absl::StrCat("/nodes/", node, "/heal"));
}
absl::Status DevCluster::Slow(int node, absl::Duration d) {
  return Control("POST", absl::StrCat("/nodes/", node, "/slow?ms=", absl::ToInt64Milliseconds(d)));
}
absl::Status DevCluster::Status(int node, int http_code) {
  return Control("POST", absl::StrCat("/nodes/", node, "/status?code=", http_code));
}
absl::Status DevCluster::Malform(int node, const std::string& kind, const std::string& path,
                                 int64_t huge_bytes) {
  std::string target = absl::StrCat("/nodes/", node, "/malform?kind=", kind);
  if (!path.empty()) absl::StrAppend(&target, "&path=", path);
  if (huge_bytes > 0) absl::StrAppend(&target, "&bytes=", huge_bytes);
  return Control("POST", target);
}
absl::Status DevCluster::ResetNext(int node) {
  return Control("POST", absl::StrCat("/nodes/", node, "/reset"));
}
absl::Status DevCluster::CloseIdle(int node) {
  return Control("POST", absl::StrCat("/nodes/", node, "/close_idle"));
}
absl::Status DevCluster::BulkReject(int every) {
  return Control("POST", absl::StrCat("/bulk_reject?every=", every));
}
absl::Status DevCluster::ResetAll(bool wipe_data) {
  return Control("POST", wipe_data ? "/reset_all?data=true" : "/reset_all");
}
absl::StatusOr<std::string> DevCluster::Stats() { return ControlGet("/stats"); }
absl::StatusOr<std::string> DevCluster::Docs(const std::string& index) {
  return ControlGet(absl::StrCat("/docs/", index));
}

absl::StatusOr<int64_t> DevCluster::NodeStat(const std::string& field, int node) {
  ESGW_ASSIGN_OR_RETURN(const std::string body, Stats());
  const std::optional<Json> stats = ParseJson(body);
  if (!stats.has_value() || !stats->contains("nodes") || !(*stats)["nodes"].is_array()) {
    return absl::InternalError(absl::StrCat("unexpected /stats answer: ", body));
  }
  // "requests.bulk" reads a count inside a node's per-endpoint map, where a missing endpoint
  // means none.
  const size_t dot = field.find('.');
  const std::string top = field.substr(0, dot);
  int64_t sum = 0;
  for (const Json& entry : (*stats)["nodes"]) {
    if (node >= 0 && entry.value("node", -1) != node) continue;
    const Json* value = entry.contains(top) ? &entry[top] : nullptr;
    if (value != nullptr && dot != std::string::npos) {
      if (!value->is_object())
        value = nullptr;
      else if (!value->contains(field.substr(dot + 1)))
        continue;
      else
        value = &(*value)[field.substr(dot + 1)];
    }
    if (value == nullptr || !value->is_number_integer()) {
      return absl::InternalError(absl::StrCat("/stats has no integer '", field, "'"));
    }
    sum += value->get<int64_t>();
  }
  return sum;
}

absl::StatusOr<std::pair<int, std::string>> DevCluster::Request(int node, const std::string& method,
                                                                const std::string& path,
                                                                const std::string& body,
                                                                const std::string& content_type) {
  devcluster::HeaderList headers;
  if (!body.empty()) headers.emplace_back("Content-Type", content_type);
  ESGW_ASSIGN_OR_RETURN(auto response,
                        HttpRequestOnce(node_addresses_.at(static_cast<std::size_t>(node)), method,
                                        path, body, headers));
  return std::make_pair(response.status, std::move(response.body));
}

absl::StatusOr<std::pair<int, std::string>> TestCluster::Request(const std::string& method,
                                                                 const std::string& path,
                                                                 const std::string& body,
                                                                 const std::string& content_type) {
  devcluster::HeaderList headers;
  if (!body.empty()) headers.emplace_back("Content-Type", content_type);
  ESGW_ASSIGN_OR_RETURN(auto response, HttpRequestOnce(address(), method, path, body, headers));
  return std::make_pair(response.status, std::move(response.body));
}

}  // namespace esgw::testing
