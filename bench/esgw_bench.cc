// esgw-bench: load for a running esgw-server, one of three workloads:
//  - search (default): keeps --concurrency Search calls in flight until --requests completed;
//  - bulk: --concurrency callers send Bulk calls of --bulk_ops index ops until --docs are written;
//  - ingest: --concurrency Ingest streams write --docs index ops between them, in messages of
//    --message_ops, reading results as they come.
// Documents are --doc_bytes of JSON each. It prints throughput, latency percentiles (per call;
// per stream for ingest), status codes, what the pool did meanwhile (requests, retries,
// connections opened per node, from Admin.GetPoolStats) and, with --server_pid, the server's CPU
// time per op split by thread (the esgw-http transport loops, gRPC's threads, ...) and its
// resident memory now and at its peak, read from /proc.
//
//   esgw-bench --addr=127.0.0.1:50051 --requests=10000 --concurrency=16 --server_pid=1234
//   esgw-bench --workload=ingest --docs=1000000 --doc_bytes=1024 --concurrency=2
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
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "esgw-server address");
ABSL_FLAG(std::string, workload, "search", "search, bulk or ingest");
ABSL_FLAG(int, docs, 100000, "bulk and ingest: documents to write");
ABSL_FLAG(int, doc_bytes, 1024, "bulk and ingest: bytes of each document's JSON source");
ABSL_FLAG(int, bulk_ops, 1000, "bulk: ops per Bulk call");
ABSL_FLAG(int, message_ops, 100, "ingest: ops per IngestRequest message");
ABSL_FLAG(std::string, write_index, "esgw-bench", "bulk and ingest: index to write to");
ABSL_FLAG(int, requests, 10000, "Search calls to complete");
ABSL_FLAG(int, concurrency, 16, "calls kept in flight");
ABSL_FLAG(int, warmup, 200, "calls before measuring (connections, caches)");
ABSL_FLAG(std::string, index, "products", "index to search");
ABSL_FLAG(std::string, body, R"({"query":{"match_all":{}},"size":10})", "search body (JSON)");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5),
          "deadline of each call (of each stream for ingest: at least 10 min there)");
ABSL_FLAG(std::string, token, "", "bearer token sent with every call (or env ESGW_TOKEN)");
ABSL_FLAG(std::string, ca_file, "", "PEM CA to trust: connect over TLS");
ABSL_FLAG(std::string, cert_file, "", "PEM client certificate (mutual TLS), with --key_file");
ABSL_FLAG(std::string, key_file, "", "PEM key of --cert_file");
ABSL_FLAG(std::string, server_name, "", "name to verify in the server's certificate");
ABSL_FLAG(int, server_pid, 0, "pid of esgw-server, for its CPU time per request (0: skip)");

namespace {

// "Bearer <token>" for every call when a token is set (from main, before any call).
std::string g_authorization;

void Authorize(grpc::ClientContext& context) {
  if (!g_authorization.empty()) context.AddMetadata("authorization", g_authorization);
}

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

// "VmRSS" or "VmHWM" (peak) of a process, in KiB; 0 when unknown.
int64_t MemoryKib(int pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    int64_t kib = 0;
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib;
  }
  return 0;
}

struct PoolTotals {
  int64_t requests = 0;
  int64_t retries = 0;
  std::map<std::string, int64_t> connections;  // by node address
};

bool ReadPool(esgw::v1::Admin::Stub* admin, PoolTotals* totals) {
  grpc::ClientContext context;
  Authorize(context);
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
    Authorize(slot->context);
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

// One index op: id "<prefix>-<n>", a source of about doc_bytes.
void FillOp(esgw::v1::BulkOp* op, const std::string& prefix, int64_t n, const std::string& pad) {
  op->set_type(esgw::v1::OP_TYPE_INDEX);
  op->set_id(absl::StrCat(prefix, "-", n));
  op->set_source_json(absl::StrCat(R"({"n":)", n, R"(,"title":"benchmark document )", n,
                                   R"(","pad":")", pad, "\"}"));
  op->set_seq(static_cast<uint64_t>(n));
}

std::string Padding() {
  return std::string(static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_doc_bytes) - 60)), 'x');
}

// bulk: `concurrency` callers take Bulk calls of bulk_ops ops until `docs` ops are sent.
RunResult RunBulk(esgw::v1::Gateway::Stub* gateway, int docs, int concurrency, int64_t* failed) {
  const int per_call = std::max(1, absl::GetFlag(FLAGS_bulk_ops));
  const std::string pad = Padding();
  const std::string prefix = absl::StrCat("b", absl::ToUnixMicros(absl::Now()));
  absl::Mutex mu;
  RunResult result;
  int next = 0;
  const absl::Time begin = absl::Now();
  std::vector<std::thread> callers;
  for (int c = 0; c < concurrency; ++c) {
    callers.emplace_back([&] {
      while (true) {
        int first;
        {
          absl::MutexLock lock(&mu);
          if (next >= docs) return;
          first = next;
          next = std::min(docs, next + per_call);
        }
        esgw::v1::BulkRequest request;
        request.set_index(absl::GetFlag(FLAGS_write_index));
        for (int n = first; n < std::min(docs, first + per_call); ++n) {
          FillOp(request.add_ops(), prefix, n, pad);
        }
        grpc::ClientContext context;
        Authorize(context);
        context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_deadline)));
        esgw::v1::BulkResponse response;
        const absl::Time start = absl::Now();
        const grpc::Status status = gateway->Bulk(&context, request, &response);
        const double us = absl::ToDoubleMicroseconds(absl::Now() - start);
        int64_t bad = 0;
        for (const auto& item : response.items()) bad += item.status() >= 300 ? 1 : 0;
        absl::MutexLock lock(&mu);
        result.latencies_us.push_back(us);
        ++result.codes[status.error_code()];
        *failed += status.ok() ? bad : request.ops_size();
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  result.elapsed = absl::Now() - begin;
  return result;
}

// ingest: `concurrency` streams, each writing its share of `docs` and reading results.
RunResult RunIngest(esgw::v1::Gateway::Stub* gateway, int docs, int concurrency, int64_t* failed) {
  const int per_message = std::max(1, absl::GetFlag(FLAGS_message_ops));
  const std::string pad = Padding();
  const std::string prefix = absl::StrCat("i", absl::ToUnixMicros(absl::Now()));
  absl::Mutex mu;
  RunResult result;
  const absl::Time begin = absl::Now();
  std::vector<std::thread> streams;
  for (int c = 0; c < concurrency; ++c) {
    const int first = static_cast<int>(static_cast<int64_t>(docs) * c / concurrency);
    const int end = static_cast<int>(static_cast<int64_t>(docs) * (c + 1) / concurrency);
    streams.emplace_back([&, first, end] {
      grpc::ClientContext context;
      Authorize(context);
      context.set_deadline(
          std::chrono::system_clock::now() +
          absl::ToChronoMilliseconds(std::max(absl::GetFlag(FLAGS_deadline), absl::Minutes(10))));
      const absl::Time start = absl::Now();
      auto stream = gateway->Ingest(&context);
      std::thread writer([&] {
        for (int n = first; n < end;) {
          esgw::v1::IngestRequest message;
          if (n == first) message.set_index(absl::GetFlag(FLAGS_write_index));
          for (int i = 0; i < per_message && n < end; ++i, ++n)
            FillOp(message.add_ops(), prefix, n, pad);
          if (!stream->Write(message)) break;
        }
        stream->WritesDone();
      });
      esgw::v1::IngestResponse response;
      int64_t bad = 0;
      int64_t reported = 0;
      while (stream->Read(&response)) {
        for (const auto& item : response.results()) bad += item.status() >= 300 ? 1 : 0;
        reported += response.results_size();
      }
      writer.join();
      const grpc::Status status = stream->Finish();
      const double us = absl::ToDoubleMicroseconds(absl::Now() - start);
      absl::MutexLock lock(&mu);
      result.latencies_us.push_back(us);
      ++result.codes[status.error_code()];
      *failed += bad + (end - first - reported);
    });
  }
  for (std::thread& stream : streams) stream.join();
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
      "esgw-bench: Search, Bulk or Ingest load against a running esgw-server, with pool, CPU "
      "and memory figures.\n"
      "Example: esgw-bench --addr=127.0.0.1:50051 --requests=10000 --concurrency=16 "
      "--server_pid=$(pidof esgw-server)\n"
      "         esgw-bench --workload=ingest --docs=1000000 --doc_bytes=1024 --concurrency=2");
  absl::ParseCommandLine(argc, argv);
  const std::string workload = absl::GetFlag(FLAGS_workload);
  const bool search = workload == "search";
  if (!search && workload != "bulk" && workload != "ingest") {
    std::fprintf(stderr, "esgw-bench: --workload must be search, bulk or ingest\n");
    return 2;
  }
  const int total = search ? absl::GetFlag(FLAGS_requests) : absl::GetFlag(FLAGS_docs);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  if (total <= 0 || concurrency <= 0) {
    std::fprintf(stderr, "esgw-bench: --requests (--docs) and --concurrency must be positive\n");
    return 2;
  }
  // The channel esgw's own clients use (client/channel.h): its retry policy, keepalive and
  // limits, so the figures are what those clients get.
  esgw::client::ClientOptions client_options;
  client_options.address = absl::GetFlag(FLAGS_addr);
  client_options.token = absl::GetFlag(FLAGS_token);
  client_options.ca_file = absl::GetFlag(FLAGS_ca_file);
  client_options.cert_file = absl::GetFlag(FLAGS_cert_file);
  client_options.key_file = absl::GetFlag(FLAGS_key_file);
  client_options.server_name = absl::GetFlag(FLAGS_server_name);
  esgw::client::ApplyEnvironment(client_options);
  if (!client_options.token.empty()) g_authorization = "Bearer " + client_options.token;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> created =
      esgw::client::CreateChannel(client_options);
  if (!created.ok()) {
    std::fprintf(stderr, "esgw-bench: %s\n", std::string(created.status().message()).c_str());
    return 2;
  }
  std::shared_ptr<grpc::Channel> channel = *std::move(created);
  auto gateway = esgw::v1::Gateway::NewStub(channel);
  auto admin = esgw::v1::Admin::NewStub(channel);

  if (search && absl::GetFlag(FLAGS_warmup) > 0) {
    Run(gateway.get(), absl::GetFlag(FLAGS_warmup), concurrency);
  }
  PoolTotals before, after;
  if (!ReadPool(admin.get(), &before)) return 1;
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int64_t rss_before = pid > 0 ? MemoryKib(pid, "VmRSS") : 0;
  const auto cpu_before = pid > 0 ? ThreadCpu(pid) : std::map<std::string, double>{};
  int64_t failed_items = 0;
  RunResult run = search ? Run(gateway.get(), total, concurrency)
                  : workload == "bulk"
                      ? RunBulk(gateway.get(), total, concurrency, &failed_items)
                      : RunIngest(gateway.get(), total, concurrency, &failed_items);
  const auto cpu_after = pid > 0 ? ThreadCpu(pid) : std::map<std::string, double>{};
  if (!ReadPool(admin.get(), &after)) return 1;

  std::sort(run.latencies_us.begin(), run.latencies_us.end());
  const double seconds = absl::ToDoubleSeconds(run.elapsed);
  const char* unit = search ? "search" : "doc";
  if (search) {
    std::printf("searches: %d at concurrency %d in %.2f s: %.0f/s\n", total, concurrency, seconds,
                total / seconds);
  } else {
    const double mb = static_cast<double>(total) * absl::GetFlag(FLAGS_doc_bytes) / 1e6;
    std::printf(
        "%s: %d docs of %d bytes (%.0f MB) over %d %s in %.2f s: %.0f docs/s, %.1f MB/s, "
        "%lld failed\n",
        workload.c_str(), total, absl::GetFlag(FLAGS_doc_bytes), mb, concurrency,
        workload == "bulk" ? "callers" : "streams", seconds, total / seconds, mb / seconds,
        static_cast<long long>(failed_items));
  }
  std::printf("latency us (per %s): p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n",
              search ? "call" : (workload == "bulk" ? "Bulk call" : "stream"),
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
        std::printf("server cpu %-16s %8.1f us per %s\n", name.c_str(), used * 1e6 / total, unit);
      }
    }
    std::printf("server cpu %-16s %8.1f us per %s\n", "(all threads)", all * 1e6 / total, unit);
    std::printf("server memory: rss %.1f MiB before, %.1f MiB after, peak %.1f MiB\n",
                rss_before / 1024.0, MemoryKib(pid, "VmRSS") / 1024.0,
                MemoryKib(pid, "VmHWM") / 1024.0);
  }
  const bool all_ok = run.codes.size() == 1 && run.codes.count(0) == 1 && failed_items == 0;
  return all_ok ? 0 : 1;
}
