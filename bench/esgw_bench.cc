// esgw-bench: load for a running esgw-server. Keeps --concurrency Search calls in flight until
// --requests have completed, then prints throughput, latency percentiles, status codes, what
// the pool did meanwhile (requests, retries, connections opened per node, from
// Admin.GetPoolStats) and, with --server_pid, the server's CPU time per request split by thread
// (the esgw-http transport loops, gRPC's threads, ...), read from /proc.
//
//   esgw-bench --addr=127.0.0.1:50051 --requests=10000 --concurrency=16 --server_pid=1234
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "esgw-server address");
ABSL_FLAG(int, requests, 10000, "Search calls to complete");
ABSL_FLAG(int, concurrency, 16, "calls kept in flight");
ABSL_FLAG(int, warmup, 200, "calls before measuring (connections, caches)");
ABSL_FLAG(std::string, index, "products", "index to search");
ABSL_FLAG(std::string, body, R"({"query":{"match_all":{}},"size":10})", "search body (JSON)");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5), "deadline of each call");
ABSL_FLAG(int, server_pid, 0, "pid of esgw-server, for its CPU time per request (0: skip)");

namespace {

// CPU seconds (user + system) per thread name of a process, from /proc/<pid>/task/*/stat.
std::map<std::string, double> ThreadCpu(int pid) {
  std::map<std::string, double> cpu;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "tid (comm) state ..." where comm may hold spaces; fields after ") " count from 3.
    const size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string name = line.substr(open + 1, close - open - 1);
    // gRPC names its threads with a numeric suffix ("grpcpp_sync_ser", "default-executo");
    // group by the name as the kernel keeps it.
    std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
    double utime = 0, stime = 0;
    if (fields.size() < 13 || !absl::SimpleAtod(fields[11], &utime) ||
        !absl::SimpleAtod(fields[12], &stime)) {
      continue;
    }
    cpu[name] += (utime + stime) / ticks;
  }
  return cpu;
}

struct PoolTotals {
  int64_t requests = 0;
  int64_t retries = 0;
  std::map<std::string, int64_t> connections;  // by node address
};

bool ReadPool(esgw::v1::Admin::Stub* admin, PoolTotals* totals) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  esgw::v1::PoolStats stats;
  const grpc::Status status = admin->GetPoolStats(&context, {}, &stats);
  if (!status.ok()) {
    std::fprintf(stderr, "esgw-bench: GetPoolStats: %s\n", status.error_message().c_str());
    return false;
  }
  *totals = {};
  totals->retries = stats.retries_total();
  for (const auto& node : stats.nodes()) {
    totals->requests += node.requests_total();
    totals->connections[node.address()] = node.connections_opened_total();
  }
  return true;
}

// Runs `total` Searches with `concurrency` in flight; latencies in microseconds.
struct RunResult {
  std::vector<double> latencies_us;
  std::map<int, int> codes;
  absl::Duration elapsed;
};

RunResult Run(esgw::v1::Gateway::Stub* gateway, int total, int concurrency) {
  esgw::v1::SearchRequest request;
  request.add_indices(absl::GetFlag(FLAGS_index));
  request.set_body_json(absl::GetFlag(FLAGS_body));
  const absl::Duration deadline = absl::GetFlag(FLAGS_deadline);

  absl::Mutex mu;
  RunResult result;
  result.latencies_us.reserve(total);
  int started = 0;
  int finished = 0;
  const absl::Time begin = absl::Now();

  // One self-restarting chain of calls per concurrency slot.
  struct Slot {
    grpc::ClientContext context;
    esgw::v1::SearchResponse response;
    absl::Time start;
  };
  std::function<void()> launch = [&]() {
    {
      absl::MutexLock lock(&mu);
      if (started >= total) return;
      ++started;
    }
    auto* slot = new Slot();
    slot->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoMilliseconds(deadline));
    slot->start = absl::Now();
    gateway->async()->Search(
        &slot->context, &request, &slot->response, [&, slot](grpc::Status status) {
          const double us = absl::ToDoubleMicroseconds(absl::Now() - slot->start);
          delete slot;
          {
            absl::MutexLock lock(&mu);
            result.latencies_us.push_back(us);
            ++result.codes[status.error_code()];
            ++finished;
          }
          launch();
        });
  };
  for (int i = 0; i < std::min(concurrency, total); ++i) launch();
  absl::MutexLock lock(&mu);
  auto all_done = [&]() { return finished == total; };
  mu.Await(absl::Condition(&all_done));
  result.elapsed = absl::Now() - begin;
  return result;
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "esgw-bench: Search load against a running esgw-server, with pool and CPU figures.\n"
      "Example: esgw-bench --addr=127.0.0.1:50051 --requests=10000 --concurrency=16 "
      "--server_pid=$(pidof esgw-server)");
  absl::ParseCommandLine(argc, argv);
  const int total = absl::GetFlag(FLAGS_requests);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  if (total <= 0 || concurrency <= 0) {
    std::fprintf(stderr, "esgw-bench: --requests and --concurrency must be positive\n");
    return 2;
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_addr), grpc::InsecureChannelCredentials());
  auto gateway = esgw::v1::Gateway::NewStub(channel);
  auto admin = esgw::v1::Admin::NewStub(channel);

  if (absl::GetFlag(FLAGS_warmup) > 0) Run(gateway.get(), absl::GetFlag(FLAGS_warmup), concurrency);
  PoolTotals before, after;
  if (!ReadPool(admin.get(), &before)) return 1;
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const auto cpu_before = pid > 0 ? ThreadCpu(pid) : std::map<std::string, double>{};
  RunResult run = Run(gateway.get(), total, concurrency);
  const auto cpu_after = pid > 0 ? ThreadCpu(pid) : std::map<std::string, double>{};
  if (!ReadPool(admin.get(), &after)) return 1;

  std::sort(run.latencies_us.begin(), run.latencies_us.end());
  const double seconds = absl::ToDoubleSeconds(run.elapsed);
  std::printf("searches: %d at concurrency %d in %.2f s: %.0f/s\n", total, concurrency, seconds,
              total / seconds);
  std::printf("latency us: p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n",
              Percentile(run.latencies_us, 0.50), Percentile(run.latencies_us, 0.90),
              Percentile(run.latencies_us, 0.99), run.latencies_us.back());
  std::printf("status codes:");
  for (const auto& [code, count] : run.codes) std::printf(" %d x%d", code, count);
  std::printf("\n");
  int64_t opened = 0;
  for (const auto& [node, count] : after.connections) {
    const int64_t delta = count - before.connections[node];
    opened += delta;
    std::printf("node %s: connections opened %lld (total %lld)\n", node.c_str(),
                static_cast<long long>(delta), static_cast<long long>(count));
  }
  const int64_t requests = after.requests - before.requests;
  std::printf(
      "pool: %lld requests to nodes, %lld retries, %lld connections opened (%.0f "
      "requests per new connection)\n",
      static_cast<long long>(requests), static_cast<long long>(after.retries - before.retries),
      static_cast<long long>(opened), opened > 0 ? static_cast<double>(requests) / opened : 0.0);
  if (pid > 0) {
    double all = 0;
    for (const auto& [name, seconds_after] : cpu_after) {
      const auto it = cpu_before.find(name);
      const double used = seconds_after - (it == cpu_before.end() ? 0 : it->second);
      all += used;
      if (used > 0) {
        std::printf("server cpu %-16s %8.1f us per search\n", name.c_str(), used * 1e6 / total);
      }
    }
    std::printf("server cpu %-16s %8.1f us per search\n", "(all threads)", all * 1e6 / total);
  }
  return run.codes.size() == 1 && run.codes.count(0) == 1 ? 0 : 1;
}
