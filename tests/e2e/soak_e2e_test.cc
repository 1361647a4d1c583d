// Soak: the built esgw-server in front of a 3-node dev cluster, under steady mixed load (Search,
// Bulk, Ingest streams) for a bounded time while nodes flap (kill/revive, hang/heal, slow, 503,
// close_idle, reset). Proves that after warm-up esgw's RSS, open fds and sockets towards the nodes
// (CLOSE_WAIT, ESTABLISHED, TIME_WAIT) stay flat, that calls fail only with the codes the faults
// explain and rarely, and that esgw still serves once the nodes are healed.
// ESGW_SOAK_SECONDS sets the length (60 s by default; `make soak` runs longer), ESGW_SOAK_SEED the
// fault schedule's seed.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/gateway_calls.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using testing::WaitFor;

constexpr int kNodes = 3;
// esgw's HTTP connections: 2 event loops share the per-node cap (each gets ceil(8 / 2)), so at
// most 8 connections to one node and kNodes * 8 in all.
constexpr int kTransportThreads = 2;
constexpr int kMaxConnectionsPerNode = 8;
// Load: kUnaryWorkers threads of Search and Bulk at kUnaryCallsPerSecond each, and one thread of
// Ingest streams, each stream kIngestStreamSeconds of one message every kIngestMessageInterval.
// At most 150 unary calls (about 105 measured, as each call takes its time) and 20 Ingest
// messages a second: steady, far from saturating 2 cores that also run other tests.
constexpr int kUnaryWorkers = 3;
constexpr int kUnaryCallsPerSecond = 50;
constexpr absl::Duration kIngestMessageInterval = absl::Milliseconds(50);
constexpr int kOpsPerIngestMessage = 5;
constexpr absl::Duration kIngestStreamSeconds = absl::Seconds(5);
// Documents are written under reused ids, so the dev cluster holds a bounded set.
constexpr int kBulkIdsPerWorker = 100;
constexpr int kBulkIndices = 3;
constexpr int kIngestIds = 300;

int SoakSeconds() {
  const char* env = std::getenv("ESGW_SOAK_SECONDS");
  int seconds = 60;
  if (env != nullptr && *env != '\0' && !absl::SimpleAtoi(env, &seconds)) {
    ADD_FAILURE() << "ESGW_SOAK_SECONDS is not a number: " << env;
    seconds = 60;
  }
  // Below 30 s there are too few samples after warm-up to compare a first and a last third.
  return std::max(seconds, 30);
}

uint32_t SoakSeed() {
  const char* env = std::getenv("ESGW_SOAK_SEED");
  uint32_t seed = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  return static_cast<uint32_t>(absl::ToUnixMicros(absl::Now()));
}

// What one sample of the esgw-server process shows.
struct Sample {
  double t = 0;               // seconds since the load started
  int64_t rss_kb = -1;        // VmRSS
  int fds = -1;               // entries of /proc/<pid>/fd
  int other_fds = -1;         // fds - node_sockets: listener, epoll, pipes, files, gRPC peers
  int node_sockets = 0;       // esgw's sockets to a node port, in any state (their fds)
  int established = 0;        // of which ESTABLISHED
  int close_wait = 0;         // of which CLOSE_WAIT
  double close_wait_age = 0;  // seconds the oldest of them has been seen in CLOSE_WAIT
  int time_wait = 0;          // TIME_WAIT sockets with a node port at either end (no owner)
  int64_t pool_open = -1;     // PoolStats: connections opened minus closed, summed over nodes
  int64_t calls_ok = 0;       // cumulative, unary calls and Ingest streams
  int64_t calls_failed = 0;
};

// Open fds of `pid` and the inodes of those that are sockets. fds = -1 when /proc/<pid>/fd cannot
// be read.
struct FdScan {
  int fds = -1;
  std::set<uint64_t> socket_inodes = {};
};

FdScan ScanFds(pid_t pid) {
  FdScan scan;
  const std::string dir_path = absl::StrCat("/proc/", pid, "/fd");
  DIR* dir = opendir(dir_path.c_str());
  if (dir == nullptr) return scan;
  scan.fds = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    ++scan.fds;
    char target[128] = {};
    const ssize_t n = readlinkat(dirfd(dir), entry->d_name, target, sizeof(target) - 1);
    if (n <= 0) continue;  // closed meanwhile
    absl::string_view link(target, static_cast<size_t>(n));
    uint64_t inode = 0;
    if (absl::ConsumePrefix(&link, "socket:[") && absl::ConsumeSuffix(&link, "]") &&
        absl::SimpleAtoi(link, &inode)) {
      scan.socket_inodes.insert(inode);
    }
  }
  closedir(dir);
  return scan;
}

// The port of a /proc/net/tcp address ("0100007F:1F90", or 32 hex digits and a port for tcp6).
int PortOf(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return -1;
  int port = 0;
  return absl::SimpleHexAtoi(address.substr(colon + 1), &port) ? port : -1;
}

// Counts, from /proc/net/tcp and tcp6, esgw's sockets whose remote port is a node's (by socket
// inode): all of them, those ESTABLISHED and those in CLOSE_WAIT; and TIME_WAIT sockets with a node
// port at either end (a TIME_WAIT socket has no owner; esgw's side when esgw closed first, the
// node's when it did).
void CountNodeSockets(const std::set<uint64_t>& esgw_inodes, const std::set<int>& node_ports,
                      Sample* sample, std::set<uint64_t>* close_wait_inodes) {
  constexpr absl::string_view kEstablished = "01";
  constexpr absl::string_view kTimeWait = "06";
  constexpr absl::string_view kCloseWait = "08";
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      const std::vector<absl::string_view> fields =
          absl::StrSplit(line, ' ', absl::SkipWhitespace());
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
      if (fields.size() < 10) continue;
      const int local_port = PortOf(fields[1]);
      const int remote_port = PortOf(fields[2]);
      const absl::string_view state = fields[3];
      if (state == kTimeWait) {
        if (node_ports.count(local_port) > 0 || node_ports.count(remote_port) > 0) {
          ++sample->time_wait;
        }
        continue;
      }
      uint64_t inode = 0;
      if (node_ports.count(remote_port) == 0 || !absl::SimpleAtoi(fields[9], &inode) ||
          esgw_inodes.count(inode) == 0) {
        continue;
      }
      ++sample->node_sockets;
      if (state == kEstablished) ++sample->established;
      if (state == kCloseWait) {
        ++sample->close_wait;
        close_wait_inodes->insert(inode);
      }
    }
  }
}

// Calls and their outcomes, by RPC and status code; Bulk items and Ingest results by outcome.
class Tally {
 public:
  void Call(const std::string& rpc, const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    ++calls_[rpc][status.error_code()];
    if (!status.ok() && !IsExpectedFailure(status.error_code()) && unexpected_.size() < 10) {
      unexpected_.push_back(
          absl::StrCat(rpc, ": code ", status.error_code(), ": ", status.error_message()));
    }
  }
  void Item(const std::string& what, const v1::BulkItemResult& item) {
    const bool ok = item.status() >= 200 && item.status() < 300;
    absl::MutexLock lock(&mu_);
    ++items_[absl::StrCat(what, " ", ok ? "ok" : item.error().type())];
  }
  void Note(const std::string& what) {
    absl::MutexLock lock(&mu_);
    if (unexpected_.size() < 10) unexpected_.push_back(what);
  }

  // Calls and streams that ended OK, and those that did not.
  std::pair<int64_t, int64_t> OkAndFailed() const {
    absl::MutexLock lock(&mu_);
    int64_t ok = 0;
    int64_t failed = 0;
    for (const auto& [rpc, codes] : calls_) {
      for (const auto& [code, n] : codes) (code == grpc::StatusCode::OK ? ok : failed) += n;
    }
    return {ok, failed};
  }
  std::map<std::string, std::map<grpc::StatusCode, int64_t>> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::map<std::string, int64_t> items() const {
    absl::MutexLock lock(&mu_);
    return items_;
  }
  std::vector<std::string> unexpected() const {
    absl::MutexLock lock(&mu_);
    return unexpected_;
  }

  // What a fault of the schedule explains: no node answered in time (all retries spent on
  // nodes that were killed, returned 503 or were reset) or the deadline passed on a hung or
  // slow node.
  static bool IsExpectedFailure(grpc::StatusCode code) {
    return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::map<grpc::StatusCode, int64_t>> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> items_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> unexpected_ ABSL_GUARDED_BY(mu_);
};

// The searches the load cycles through.
const std::vector<std::pair<std::string, std::string>>& Searches() {
  static const auto* searches = new std::vector<std::pair<std::string, std::string>>{
      {"products", R"({"query":{"match_all":{}},"size":5})"},
      {"products", R"({"size":0,"aggs":{"by_category":{"terms":{"field":"category"}}}})"},
      {"products", R"({"size":3,"sort":[{"price":"desc"}]})"},
      {"logs", R"({"query":{"match":{"message":"slow query"}},"size":10})"},
      {"soak-*", R"({"query":{"match_all":{}},"size":5})"},
  };
  return *searches;
}

double Mib(int64_t kb) { return static_cast<double>(kb) / 1024.0; }

class SoakE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ExternalEsUrl().empty()) {
      GTEST_SKIP() << "the soak flaps nodes and counts sockets towards them, which needs "
                      "esgw-devcluster; ESGW_TEST_ES_URL is set";
    }
    testing::DevCluster::Options cluster_options;
    cluster_options.nodes = kNodes;
    cluster_options.sample_data = true;
    // Connection churn from the node side on top of the faults: idle keep-alive connections
    // (the surplus opened while a node hung) are closed after 2 s, and every connection after
    // 500 requests, so esgw keeps seeing connections end under it.
    cluster_options.extra_flags = {"--keepalive_timeout=2s", "--max_requests_per_connection=500"};
    auto cluster = testing::DevCluster::Start(cluster_options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    for (const std::string& address : cluster_->node_addresses()) {
      int port = 0;
      ASSERT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) << address;
      node_ports_.insert(port);
    }
    auto server = testing::EsgwProcess::Start(
        cluster_->SeedsFlag(),
        {// Dead nodes come back quickly, so a flapped node is in use again within a second.
         "--dead_timeout=200ms", "--max_dead_timeout=1s",
         // Sniff often, so that sniffing runs many times during the soak.
         "--sniff_interval=3s", absl::StrCat("--transport_threads=", kTransportThreads),
         absl::StrCat("--max_connections_per_node=", kMaxConnectionsPerNode),
         // An Ingest batch held by a hung node gives up within this.
         "--request_timeout=10s", "--log_level=warning"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stubs_ = std::make_unique<testing::GatewayStubs>(server_->channel());
    ASSERT_TRUE(WaitFor(
        [&] {
          const auto stats = testing::PoolStatsOf(*stubs_->admin);
          return stats.ok() && stats->sniffs_total() >= 1;
        },
        absl::Seconds(10), "the sniff on start completes"));
  }

  // One thread of Search and Bulk calls, paced at kUnaryCallsPerSecond.
  void UnaryWorker(int worker) {
    const absl::Duration interval = absl::Seconds(1) / kUnaryCallsPerSecond;
    absl::Time next = absl::Now();
    for (int64_t n = 0; !stop_.load(); ++n) {
      if (n % 4 == 3) {
        Bulk(worker, n);
      } else {
        Search(static_cast<size_t>(n + worker));
      }
      // Steady pacing: a call that took long (a hung node) is not made up for with a burst.
      next = std::max(next + interval, absl::Now() - interval);
      absl::SleepFor(next - absl::Now());
    }
  }

  void Search(size_t n) {
    const auto& [index, body] = Searches()[n % Searches().size()];
    v1::SearchRequest request;
    request.add_indices(index);
    request.set_body_json(body);
    v1::SearchResponse response;
    const grpc::Status status =
        stubs_->gateway->Search(testing::CallContext(absl::Seconds(3)).get(), request, &response);
    tally_.Call("Search", status);
  }

  // 10 index ops with reused ids into one of kBulkIndices indices.
  void Bulk(int worker, int64_t n) {
    v1::BulkRequest request;
    request.set_index(absl::StrCat("soak-", n % kBulkIndices));
    for (int i = 0; i < 10; ++i) {
      v1::BulkOp* op = request.add_ops();
      op->set_type(v1::OP_TYPE_INDEX);
      op->set_id(absl::StrCat("w", worker, "-", (n + i) % kBulkIdsPerWorker));
      op->set_source_json(absl::StrCat(R"({"worker":)", worker, R"(,"n":)", n, R"(,"pad":")",
                                       std::string(64, 'p'), "\"}"));
      op->set_seq(static_cast<uint64_t>(i));
    }
    v1::BulkResponse response;
    const grpc::Status status =
        stubs_->gateway->Bulk(testing::CallContext(absl::Seconds(5)).get(), request, &response);
    tally_.Call("Bulk", status);
    if (!status.ok()) return;
    if (response.items_size() != request.ops_size()) {
      tally_.Note(
          absl::StrCat("Bulk: ", response.items_size(), " items for ", request.ops_size(), " ops"));
    }
    for (const v1::BulkItemResult& item : response.items()) tally_.Item("bulk item", item);
  }

  // Ingest streams one after another, each kIngestStreamSeconds of paced messages, then
  // half-closed and read to its summary.
  void IngestWorker() {
    int64_t next_id = 0;
    while (!stop_.load()) {
      auto context = testing::CallContext(absl::Seconds(60));
      auto stream = stubs_->gateway->Ingest(context.get());
      int sent_ops = 0;
      std::thread writer([&] {
        const absl::Time end = absl::Now() + kIngestStreamSeconds;
        uint64_t seq = 1;
        for (bool first = true; absl::Now() < end && !stop_.load(); first = false) {
          v1::IngestRequest message;
          if (first) message.set_index("soak-ingest");
          for (int i = 0; i < kOpsPerIngestMessage; ++i) {
            v1::BulkOp* op = message.add_ops();
            op->set_type(v1::OP_TYPE_INDEX);
            op->set_id(absl::StrCat("i-", next_id++ % kIngestIds));
            op->set_source_json(absl::StrCat(R"({"seq":)", seq, "}"));
            op->set_seq(seq++);
          }
          if (!stream->Write(message)) break;
          sent_ops += kOpsPerIngestMessage;
          absl::SleepFor(kIngestMessageInterval);
        }
        stream->WritesDone();
      });
      testing::IngestOutcome outcome;
      v1::IngestResponse response;
      while (stream->Read(&response)) outcome.Take(response);
      writer.join();
      outcome.status = stream->Finish();
      tally_.Call("Ingest", outcome.status);
      for (const auto& [seq, result] : outcome.results) tally_.Item("ingest result", result);
      if (outcome.duplicates > 0) {
        tally_.Note(absl::StrCat("Ingest: ", outcome.duplicates, " results reported twice"));
      }
      if (outcome.status.ok() &&
          (static_cast<int>(outcome.results.size()) != sent_ops || outcome.summaries != 1)) {
        tally_.Note(absl::StrCat("Ingest: ", outcome.results.size(), " results and ",
                                 outcome.summaries, " summaries for ", sent_ops, " ops"));
      }
    }
  }

  // Every 1-2 s, one node not already faulted gets a fault: kill (revived later), hang, slow or
  // 503 (healed later, after 0.5-4 s: a hang may outlast a Search's 3 s deadline), or a one-off
  // close_idle or reset. At most kNodes - 1 nodes are faulted at once, so one is always healthy.
  void Flapper(uint32_t seed) {
    enum Action { kKill, kHang, kSlow, kStatus503, kCloseIdle, kReset, kActions };
    static constexpr const char* kNames[kActions] = {"kill", "hang",       "slow",
                                                     "503",  "close_idle", "reset"};
    struct NodeFault {
      bool active = false;
      bool killed = false;
      absl::Time until = absl::InfinitePast();
    };
    std::array<NodeFault, kNodes> faults;
    std::mt19937 random(seed);
    auto uniform_ms = [&](int low, int high) {
      return absl::Milliseconds(std::uniform_int_distribution<int>(low, high)(random));
    };
    auto check = [&](const absl::Status& status, const char* what, int node) {
      if (!status.ok()) {
        tally_.Note(absl::StrCat("control ", what, " node ", node, ": ", status.ToString()));
      }
    };
    auto end_fault = [&](int node) {
      NodeFault& fault = faults[node];
      if (fault.killed) {
        check(cluster_->Revive(node), "revive", node);
      } else {
        check(cluster_->Heal(node), "heal", node);
      }
      fault = NodeFault();
    };
    absl::Time next_action = absl::Now() + uniform_ms(1000, 2000);
    while (!stop_.load()) {
      const absl::Time now = absl::Now();
      int active = 0;
      std::vector<int> candidates;
      for (int node = 0; node < kNodes; ++node) {
        if (faults[node].active && now >= faults[node].until) end_fault(node);
        if (faults[node].active) {
          ++active;
        } else {
          candidates.push_back(node);
        }
      }
      if (now >= next_action && active < kNodes - 1) {
        const int node =
            candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(random)];
        const auto action =
            static_cast<Action>(std::uniform_int_distribution<int>(0, kActions - 1)(random));
        NodeFault& fault = faults[node];
        fault.until = now + uniform_ms(500, 4000);
        switch (action) {
          case kKill:
            check(cluster_->Kill(node), "kill", node);
            fault.active = fault.killed = true;
            break;
          case kHang:
            check(cluster_->Hang(node), "hang", node);
            fault.active = true;
            break;
          case kSlow:
            check(cluster_->Slow(node, uniform_ms(200, 800)), "slow", node);
            fault.active = true;
            break;
          case kStatus503:
            check(cluster_->Status(node, 503), "status", node);
            fault.active = true;
            break;
          case kCloseIdle:
            check(cluster_->CloseIdle(node), "close_idle", node);
            break;
          case kReset:
            check(cluster_->ResetNext(node), "reset", node);
            break;
          case kActions:
            break;
        }
        absl::MutexLock lock(&actions_mu_);
        ++actions_[kNames[action]];
      }
      if (now >= next_action) next_action = now + uniform_ms(1000, 2000);
      absl::SleepFor(absl::Milliseconds(50));
    }
    for (int node = 0; node < kNodes; ++node) {
      if (faults[node].active) end_fault(node);
    }
  }

  Sample TakeSample(absl::Time start) {
    Sample sample;
    const pid_t pid = server_->process().pid();
    sample.t = absl::ToDoubleSeconds(absl::Now() - start);
    sample.rss_kb = testing::ProcStatusKb(pid, "VmRSS");
    const FdScan scan = ScanFds(pid);
    sample.fds = scan.fds;
    std::set<uint64_t> close_wait;
    CountNodeSockets(scan.socket_inodes, node_ports_, &sample, &close_wait);
    // How long each CLOSE_WAIT socket has been seen in that state.
    std::map<uint64_t, double> still_waiting;
    for (const uint64_t inode : close_wait) {
      const auto seen = close_wait_since_.find(inode);
      const double since = seen == close_wait_since_.end() ? sample.t : seen->second;
      still_waiting[inode] = since;
      sample.close_wait_age = std::max(sample.close_wait_age, sample.t - since);
    }
    close_wait_since_ = std::move(still_waiting);
    if (sample.fds >= 0) sample.other_fds = sample.fds - sample.node_sockets;
    if (auto stats = testing::PoolStatsOf(*stubs_->admin); stats.ok()) {
      sample.pool_open = 0;
      for (const v1::NodeStats& node : stats->nodes()) {
        sample.pool_open += node.connections_opened_total() - node.connections_closed_total();
      }
    }
    std::tie(sample.calls_ok, sample.calls_failed) = tally_.OkAndFailed();
    return sample;
  }

  static void PrintHeader() {
    std::printf("%7s %8s %5s %5s %6s %6s %6s %6s %6s %9s %7s\n", "t(s)", "RSS MiB", "fds", "other",
                "ESTAB", "CL_WT", "CW_AGE", "TM_WT", "pool", "calls ok", "failed");
  }
  static void PrintSample(const Sample& s) {
    std::printf("%7.1f %8.1f %5d %5d %6d %6d %6.1f %6d %6lld %9lld %7lld\n", s.t, Mib(s.rss_kb),
                s.fds, s.other_fds, s.established, s.close_wait, s.close_wait_age, s.time_wait,
                static_cast<long long>(s.pool_open), static_cast<long long>(s.calls_ok),
                static_cast<long long>(s.calls_failed));
    std::fflush(stdout);
  }

  std::unique_ptr<testing::DevCluster> cluster_;
  std::unique_ptr<testing::EsgwProcess> server_;
  std::unique_ptr<testing::GatewayStubs> stubs_;
  std::set<int> node_ports_;
  std::map<uint64_t, double> close_wait_since_;  // CLOSE_WAIT socket inode -> first seen (t)
  std::atomic<bool> stop_{false};
  Tally tally_;
  absl::Mutex actions_mu_;
  std::map<std::string, int> actions_ ABSL_GUARDED_BY(actions_mu_);
};

// The last `count` samples as one row: the time and call counts of the last, the largest of each
// other figure.
Sample MaxOfLast(const std::vector<Sample>& samples, size_t count) {
  Sample row = samples.back();
  for (size_t i = samples.size() - std::min(count, samples.size()); i < samples.size(); ++i) {
    const Sample& s = samples[i];
    row.rss_kb = std::max(row.rss_kb, s.rss_kb);
    row.fds = std::max(row.fds, s.fds);
    row.other_fds = std::max(row.other_fds, s.other_fds);
    row.node_sockets = std::max(row.node_sockets, s.node_sockets);
    row.established = std::max(row.established, s.established);
    row.close_wait = std::max(row.close_wait, s.close_wait);
    row.close_wait_age = std::max(row.close_wait_age, s.close_wait_age);
    row.time_wait = std::max(row.time_wait, s.time_wait);
    row.pool_open = std::max(row.pool_open, s.pool_open);
  }
  return row;
}

template <typename F>
int64_t MinOf(const std::vector<Sample>& samples, size_t begin, size_t end, F field) {
  int64_t least = INT64_MAX;
  for (size_t i = begin; i < end; ++i) least = std::min<int64_t>(least, field(samples[i]));
  return least;
}

template <typename F>
int64_t MaxOf(const std::vector<Sample>& samples, size_t begin, size_t end, F field) {
  int64_t best = INT64_MIN;
  for (size_t i = begin; i < end; ++i) best = std::max<int64_t>(best, field(samples[i]));
  return best;
}

// Least-squares slope of RSS over time, in KiB per minute.
double RssSlopeKibPerMinute(const std::vector<Sample>& samples) {
  double mean_t = 0;
  double mean_rss = 0;
  for (const Sample& s : samples) {
    mean_t += s.t;
    mean_rss += static_cast<double>(s.rss_kb);
  }
  mean_t /= static_cast<double>(samples.size());
  mean_rss /= static_cast<double>(samples.size());
  double covariance = 0;
  double variance = 0;
  for (const Sample& s : samples) {
    covariance += (s.t - mean_t) * (static_cast<double>(s.rss_kb) - mean_rss);
    variance += (s.t - mean_t) * (s.t - mean_t);
  }
  return variance > 0 ? covariance / variance * 60.0 : 0;
}

TEST_F(SoakE2eTest, ResourcesStayFlatUnderSteadyLoadWhileNodesFlap) {
  const absl::Duration run = absl::Seconds(SoakSeconds());
  const absl::Duration warm_up = std::max(run / 4, absl::Seconds(10));
  const uint32_t seed = SoakSeed();
  std::printf("soak: %s (warm-up %s), fault seed %u (ESGW_SOAK_SEED), esgw pid %d\n",
              absl::FormatDuration(run).c_str(), absl::FormatDuration(warm_up).c_str(), seed,
              static_cast<int>(server_->process().pid()));

  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int worker = 0; worker < kUnaryWorkers; ++worker) {
    threads.emplace_back([this, worker] { UnaryWorker(worker); });
  }
  threads.emplace_back([this] { IngestWorker(); });
  threads.emplace_back([this, seed] { Flapper(seed); });

  std::vector<Sample> samples;
  std::printf("a sample every second; each row the largest figures of the last 5:\n");
  PrintHeader();
  bool died = false;
  for (int i = 1; absl::Now() - start < run; ++i) {
    absl::SleepFor(start + absl::Seconds(i) - absl::Now());
    samples.push_back(TakeSample(start));
    if (i % 5 == 0) PrintSample(MaxOfLast(samples, 5));
    if (!server_->process().Running()) {
      died = true;
      break;
    }
  }
  stop_.store(true);
  for (std::thread& thread : threads) thread.join();
  ASSERT_FALSE(died) << "esgw-server exited during the soak:\n" << server_->process().Log();
  ASSERT_TRUE(server_->process().Running()) << server_->process().Log();

  // With every node healed, esgw serves as before.
  ASSERT_TRUE(cluster_->ResetAll().ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        const auto stats = testing::PoolStatsOf(*stubs_->admin);
        if (!stats.ok() || stats->nodes_size() != kNodes) return false;
        for (const v1::NodeStats& node : stats->nodes()) {
          if (node.state() != v1::NODE_STATE_ALIVE) return false;
        }
        return true;
      },
      absl::Seconds(15), "every node is ALIVE again"));
  {
    v1::SearchRequest request;
    request.add_indices("products");
    request.set_body_json(R"({"query":{"match_all":{}},"size":5})");
    v1::SearchResponse response;
    const grpc::Status status =
        stubs_->gateway->Search(testing::CallContext().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    EXPECT_EQ(response.hits_size(), 5);
  }
  const Sample after = TakeSample(start);
  const auto pool = testing::PoolStatsOf(*stubs_->admin);
  ASSERT_TRUE(pool.ok()) << pool.status();

  // Summary.
  std::printf("after the load, nodes healed:\n");
  PrintSample(after);
  {
    absl::MutexLock lock(&actions_mu_);
    std::string line = "faults:";
    for (const auto& [name, count] : actions_) absl::StrAppend(&line, " ", name, "=", count);
    std::printf("%s\n", line.c_str());
  }
  for (const auto& [rpc, codes] : tally_.calls()) {
    std::string line = absl::StrCat(rpc, ":");
    for (const auto& [code, count] : codes) absl::StrAppend(&line, " code", code, "=", count);
    std::printf("%s\n", line.c_str());
  }
  {
    std::string line = "items:";
    for (const auto& [what, count] : tally_.items())
      absl::StrAppend(&line, " [", what, "]=", count);
    std::printf("%s\n", line.c_str());
  }
  std::printf("pool: sniffs %lld (failed %lld), retries %lld\n",
              static_cast<long long>(pool->sniffs_total()),
              static_cast<long long>(pool->sniff_failures_total()),
              static_cast<long long>(pool->retries_total()));

  // The samples after warm-up, compared in thirds.
  std::vector<Sample> steady;
  for (const Sample& s : samples) {
    if (s.t >= absl::ToDoubleSeconds(warm_up)) steady.push_back(s);
  }
  ASSERT_GE(steady.size(), 9u);
  const size_t n = steady.size();
  const size_t third = n / 3;
  const auto rss = [](const Sample& s) { return s.rss_kb; };
  const auto other_fds = [](const Sample& s) { return static_cast<int64_t>(s.other_fds); };
  const int64_t rss_first = MaxOf(steady, 0, third, rss);
  const int64_t rss_last = MaxOf(steady, n - third, n, rss);
  const int64_t other_first = MaxOf(steady, 0, third, other_fds);
  const int64_t other_last = MaxOf(steady, n - third, n, other_fds);
  const double slope = RssSlopeKibPerMinute(steady);
  const double steady_minutes = (steady.back().t - steady.front().t) / 60.0;
  const Sample peaks = MaxOfLast(samples, samples.size());
  std::printf(
      "after warm-up (%zu samples): RSS max %.1f MiB in the first third, %.1f MiB in the last, "
      "slope %.0f KiB/min; other fds %lld-%lld then %lld-%lld. Whole run: fds max %d, node sockets "
      "max "
      "%d, ESTABLISHED max %d, CLOSE_WAIT max %d (oldest %.0f s), TIME_WAIT max %d\n",
      n, Mib(rss_first), Mib(rss_last), slope,
      static_cast<long long>(MinOf(steady, 0, third, other_fds)),
      static_cast<long long>(other_first),
      static_cast<long long>(MinOf(steady, n - third, n, other_fds)),
      static_cast<long long>(other_last), peaks.fds, peaks.node_sockets, peaks.established,
      peaks.close_wait, peaks.close_wait_age, peaks.time_wait);
  std::fflush(stdout);

  // RSS. The allocator settles during warm-up (measured: +0.1 to +0.5 MiB between the thirds of
  // a 60 s or 180 s run; over 10 minutes 27.0 -> 28.2 MiB, flat for the last 5). The last third
  // may rise above the first by 4 MiB or 10 %: room for a gRPC thread or malloc arena that
  // appears late. In a 30-minute run that fails a leak of about 0.5 MiB a minute.
  EXPECT_LE(rss_last, rss_first + std::max<int64_t>(4 * 1024, rss_first / 10))
      << "esgw-server's RSS grows under steady load";
  // The trend over the whole steady part (measured 100 to 660 KiB/min, the higher figures in
  // 60 s runs): at most 4 MiB over it in short runs, 1 MiB a minute in long ones. A leak of
  // 1 KiB per call (some 6 MiB a minute here) fails even the 60 s run.
  EXPECT_LE(slope, std::max(1024.0, 4 * 1024.0 / steady_minutes))
      << "esgw-server's RSS trends upwards";

  // fds. esgw's sockets to the nodes swing with the faults between a few and the pool's bound,
  // so they are held to that bound (below), and the rest (listener, epoll and event fds, pipes,
  // the log, this test's gRPC connection: 13 measured) to staying flat. A socket that is being
  // opened, or that a node has just reset, is not listed in /proc/net/tcp and counts among the
  // rest for a moment (measured: up to 15), so the largest figures get 8 of slack; a leak raises
  // the floor, which may not move by more than 2. A socket that was reset but that esgw never
  // closed also stays unlisted, so it shows here.
  EXPECT_LE(other_last, other_first + 8) << "esgw-server's open fds grow";
  EXPECT_LE(MinOf(steady, n - third, n, other_fds), MinOf(steady, 0, third, other_fds) + 2)
      << "esgw-server's open fds grow";
  for (const Sample& s : samples) {
    // curl caps each of the kTransportThreads loops at its share of the per-node limit, idle
    // and half-closed connections included.
    EXPECT_LE(s.node_sockets, kNodes * kMaxConnectionsPerNode)
        << "more sockets to the nodes than the pool's bound at t=" << s.t;
    EXPECT_LE(s.established, kNodes * kMaxConnectionsPerNode)
        << "more connections than the pool's bound at t=" << s.t;
    // CLOSE_WAIT: the node closed an idle connection (close_idle, its 2 s keep-alive timeout).
    // Under load curl finds and closes those within a second or two (measured: none seen in
    // two samples running; up to 9 at once, after close_idle or a hang's surplus timing out). A
    // socket still in CLOSE_WAIT 10 s later is one esgw has lost.
    EXPECT_LE(s.close_wait_age, 10.0) << s.close_wait << " sockets in CLOSE_WAIT, the oldest for "
                                      << s.close_wait_age << " s at t=" << s.t;
  }
  // TIME_WAIT: one per connection closed in the last 60 s (by esgw or a node). Connection reuse
  // keeps that to a small share of the calls: measured 60 to 110 at about 6,500 calls a
  // minute, from sniffing every 3 s, the nodes' keep-alive timeout and 500-request limit, and
  // the faults. A pool that stopped reusing connections would leave one per call.
  for (size_t i = 0, j = 0; i < samples.size(); ++i) {
    while (samples[j].t < samples[i].t - 60) ++j;
    const int64_t calls = samples[i].calls_ok + samples[i].calls_failed -
                          (j == i ? 0 : samples[j].calls_ok + samples[j].calls_failed);
    EXPECT_LE(samples[i].time_wait, 100 + calls / 20)
        << "TIME_WAIT sockets at t=" << samples[i].t << ", " << calls << " calls in the minute";
  }
  // The pool's own count of open connections agrees with the kernel's once the load is over.
  EXPECT_LE(std::abs(after.pool_open - after.node_sockets), 2)
      << "PoolStats says " << after.pool_open << " connections are open, /proc shows "
      << after.node_sockets << " sockets";

  // Calls: only the codes the faults explain, and few of them (measured: 0.02 to 0.1 % of Searches,
  // all DEADLINE_EXCEEDED behind a hang that outlasted their 3 s deadline; no Bulk or Ingest
  // failed). One call's slack for the short series of Ingest streams.
  for (const auto& [rpc, codes] : tally_.calls()) {
    int64_t total = 0;
    int64_t failed = 0;
    for (const auto& [code, count] : codes) {
      total += count;
      if (code == grpc::StatusCode::OK) continue;
      failed += count;
      EXPECT_TRUE(Tally::IsExpectedFailure(code))
          << rpc << ": " << count << " calls failed with code " << code;
    }
    EXPECT_GT(total, 0) << rpc;
    EXPECT_LE(failed, total * 5 / 100 + 1) << rpc << ": " << failed << " of " << total << " failed";
  }
  for (const std::string& note : tally_.unexpected()) ADD_FAILURE() << note;
  // Items settle like calls: written, or marked as not (or maybe not) applied.
  std::map<std::string, std::pair<int64_t, int64_t>> items;  // "bulk item" -> {all, failed}
  for (const auto& [what, count] : tally_.items()) {
    const size_t space = what.rfind(' ');
    const std::string kind = what.substr(0, space);
    const std::string outcome = what.substr(space + 1);
    items[kind].first += count;
    if (outcome == "ok") continue;
    items[kind].second += count;
    EXPECT_TRUE(outcome == "esgw_outcome_unknown" || outcome == "esgw_not_applied")
        << count << " of " << kind << " failed with " << outcome;
  }
  for (const auto& [kind, counts] : items) {
    EXPECT_LE(counts.second, counts.first * 5 / 100) << kind << " failed";
  }
  EXPECT_GT(pool->sniffs_total(), absl::ToInt64Seconds(run) / 3 / 2)
      << "periodic sniffing ran during the soak";
}

}  // namespace
}  // namespace esgw
