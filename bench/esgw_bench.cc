// esgw-bench: load for a running esgw-server, one of three workloads:
//  - search (default): Search calls, either
//      closed loop: --concurrency calls kept in flight, each answered call followed by the next;
//      open loop (--rate=N): N calls a second started on a fixed schedule whatever the answers
//        do (at most --concurrency in flight), each call's latency counted from the moment the
//        schedule meant it to start, so that a stall shows in the percentiles instead of
//        quietly slowing the load (no "coordinated omission"); only the kernel's lateness in
//        waking esgw-bench's own pacing thread is left out;
//    for --requests calls, or for --duration when it is set;
//  - bulk: --concurrency callers send Bulk calls of --bulk_ops index ops until --docs are written;
//  - ingest: --concurrency Ingest streams write --docs index ops between them, in messages of
//    --message_ops, reading results as they come.
// Documents are --doc_bytes of JSON each. It reports throughput, latency percentiles (p50, p90,
// p99, p99.9, max, from an HDR-style histogram; per call, per stream for ingest), errors by
// status code, what the pool did meanwhile (requests, retries, connections opened per node, from
// Admin.GetPoolStats) and, with --server_pid, the server's CPU time per op split by thread and
// its resident memory now and at its peak, read from /proc. --output=json prints the same as
// one JSON object, for scripts (make bench).
//
//   esgw-bench --addr=127.0.0.1:50051 --duration=10s --concurrency=64 --server_pid=1234
//   esgw-bench --rate=1000 --duration=10s
//   esgw-bench --workload=ingest --docs=1000000 --doc_bytes=1024 --concurrency=2
//   esgw-bench --write_request=search.grpc   # the framed request, for h2load -d
#include <grpcpp/grpcpp.h>
#include <sys/prctl.h>
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
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/latency_recorder.h"
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
ABSL_FLAG(int, requests, 10000, "search: calls to complete (unless --duration is set)");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "search: run for this long instead of --requests");
ABSL_FLAG(double, rate, 0,
          "search: calls started per second on a fixed schedule (open loop); 0 is closed loop");
ABSL_FLAG(int, concurrency, 16,
          "calls kept in flight (closed loop), or the most in flight (open loop)");
ABSL_FLAG(int, channels, 1,
          "gRPC channels (HTTP/2 connections) the calls are spread over, round robin");
ABSL_FLAG(int, warmup, 200, "search: calls before measuring (connections, caches)");
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
ABSL_FLAG(std::string, output, "text", "text, or json (one object on standard output)");
ABSL_FLAG(std::string, write_request, "",
          "write the search request as one gRPC message frame (h2load -d) to this file, and exit");

namespace {

using esgw::bench::LatencyRecorder;

// "Bearer <token>" for every call when a token is set (from main, before any call).
std::string g_authorization;

void Authorize(grpc::ClientContext& context) {
  if (!g_authorization.empty()) context.AddMetadata("authorization", g_authorization);
}

const char* CodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  return code >= 0 && code < 17 ? kNames[code] : "CODE_OUT_OF_RANGE";
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

struct RunResult {
  // Per call (per stream for ingest), every status included.
  LatencyRecorder latency;
  std::map<int, int64_t> codes;
  int64_t calls = 0;
  absl::Duration elapsed;
};

// The gateway stubs, one per channel, taken round robin.
class Stubs {
 public:
  explicit Stubs(std::vector<std::unique_ptr<esgw::v1::Gateway::Stub>> stubs)
      : stubs_(std::move(stubs)) {}
  esgw::v1::Gateway::Stub* Next() {
    return stubs_[next_.fetch_add(1, std::memory_order_relaxed) % stubs_.size()].get();
  }

 private:
  std::vector<std::unique_ptr<esgw::v1::Gateway::Stub>> stubs_;
  std::atomic<size_t> next_{0};
};

esgw::v1::SearchRequest MakeSearchRequest() {
  esgw::v1::SearchRequest request;
  request.add_indices(absl::GetFlag(FLAGS_index));
  request.set_body_json(absl::GetFlag(FLAGS_body));
  return request;
}

// Search load. total > 0 ends after that many calls; otherwise at `end` (no call starts later).
// rate > 0 is open loop (at most `concurrency` in flight), else closed loop.
RunResult RunSearch(Stubs& stubs, int64_t total, absl::Time end, int concurrency, double rate) {
  const esgw::v1::SearchRequest request = MakeSearchRequest();
  const absl::Duration deadline = absl::GetFlag(FLAGS_deadline);

  absl::Mutex mu;
  RunResult result;
  int64_t started = 0;
  int64_t finished = 0;
  int in_flight = 0;
  bool stopped = false;  // no more calls will start
  const absl::Time begin = absl::Now();

  struct Call {
    grpc::ClientContext context;
    esgw::v1::SearchResponse response;
    absl::Time intended;
  };
  // Whether another call may start; counts it in flight when so.
  auto claim = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (stopped || (total > 0 && started >= total) || (total <= 0 && absl::Now() >= end)) {
      stopped = true;
      return false;
    }
    ++started;
    ++in_flight;
    return true;
  };
  // Starts one claimed call meant to start at `intended`. With `chain` (closed loop), its
  // answer claims and starts the next one in the same critical section that counts it, so that
  // in_flight never reads 0 while a chain goes on (this function's locals must outlive it).
  std::function<void(absl::Time, bool)> start = [&](absl::Time intended, bool chain) {
    auto* call = new Call();
    Authorize(call->context);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoMilliseconds(deadline));
    call->intended = intended;
    stubs.Next()->async()->Search(
        &call->context, &request, &call->response, [&, call, chain](grpc::Status status) {
          const int64_t ns = absl::ToInt64Nanoseconds(absl::Now() - call->intended);
          delete call;
          bool next = false;
          {
            absl::MutexLock lock(&mu);
            result.latency.Record(ns);
            ++result.codes[status.error_code()];
            ++finished;
            --in_flight;
            next = chain && claim();
          }
          if (next) start(absl::Now(), true);
        });
  };

  if (rate > 0) {
    // One pacing thread: the i-th call is meant for begin + i / rate.
    const double interval_ns = 1e9 / rate;
    // Linux lets a sleeping thread wake up to 50 µs late by default (its timer slack); ask
    // for as little as it will give.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    for (int64_t i = 0;; ++i) {
      absl::Time intended =
          begin + absl::Nanoseconds(static_cast<int64_t>(static_cast<double>(i) * interval_ns));
      if (total <= 0 && intended >= end) break;
      const absl::Duration wait = intended - absl::Now();
      if (wait > absl::ZeroDuration()) {
        absl::SleepFor(wait);
        // Even so the kernel wakes this thread some tens of µs late on a virtual machine.
        // That slip is the load tool's, not the server's, so the call counts from when the
        // thread woke (as wrk counts from its send). A call held back below, because
        // --concurrency calls are in flight, still counts from its scheduled start.
        intended = std::max(intended, absl::Now());
      }
      {
        absl::MutexLock lock(&mu);
        auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return in_flight < concurrency; };
        mu.Await(absl::Condition(&room));
        if (!claim()) break;
      }
      start(intended, false);
    }
  } else {
    for (int i = 0; i < concurrency; ++i) {
      bool claimed;
      {
        absl::MutexLock lock(&mu);
        claimed = claim();
      }
      if (claimed) start(absl::Now(), true);
    }
  }
  absl::MutexLock lock(&mu);
  // Closed loop: the chains set `stopped` themselves when there is no more work.
  if (rate > 0) stopped = true;
  auto all_done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return stopped && in_flight == 0; };
  mu.Await(absl::Condition(&all_done));
  result.calls = finished;
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
RunResult RunBulk(Stubs& stubs, int docs, int concurrency, int64_t* failed) {
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
        const grpc::Status status = stubs.Next()->Bulk(&context, request, &response);
        const int64_t ns = absl::ToInt64Nanoseconds(absl::Now() - start);
        int64_t bad = 0;
        for (const auto& item : response.items()) bad += item.status() >= 300 ? 1 : 0;
        absl::MutexLock lock(&mu);
        result.latency.Record(ns);
        ++result.codes[status.error_code()];
        ++result.calls;
        *failed += status.ok() ? bad : request.ops_size();
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  result.elapsed = absl::Now() - begin;
  return result;
}

// ingest: `concurrency` streams, each writing its share of `docs` and reading results.
RunResult RunIngest(Stubs& stubs, int docs, int concurrency, int64_t* failed) {
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
      auto stream = stubs.Next()->Ingest(&context);
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
      const int64_t ns = absl::ToInt64Nanoseconds(absl::Now() - start);
      absl::MutexLock lock(&mu);
      result.latency.Record(ns);
      ++result.codes[status.error_code()];
      ++result.calls;
      *failed += bad + (end - first - reported);
    });
  }
  for (std::thread& stream : streams) stream.join();
  result.elapsed = absl::Now() - begin;
  return result;
}

// The search request as h2load sends it: one uncompressed gRPC message frame (a zero flag byte,
// the length as 4 bytes big-endian, the serialized message).
int WriteRequestFrame(const std::string& path) {
  const std::string message = MakeSearchRequest().SerializeAsString();
  std::string frame(5, '\0');
  const uint32_t size = static_cast<uint32_t>(message.size());
  for (int i = 0; i < 4; ++i) frame[1 + i] = static_cast<char>((size >> (8 * (3 - i))) & 0xff);
  frame += message;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(frame.data(), static_cast<std::streamsize>(frame.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "esgw-bench: --write_request: cannot write %s\n", path.c_str());
    return 2;
  }
  return 0;
}

double Micros(int64_t nanos) { return static_cast<double>(nanos) / 1e3; }

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "esgw-bench: Search, Bulk or Ingest load against a running esgw-server, with latency "
      "percentiles, errors by code, pool, CPU and memory figures.\n"
      "Example: esgw-bench --addr=127.0.0.1:50051 --duration=10s --concurrency=64 "
      "--server_pid=$(pidof esgw-server)\n"
      "         esgw-bench --rate=1000 --duration=10s --output=json\n"
      "         esgw-bench --workload=ingest --docs=1000000 --doc_bytes=1024 --concurrency=2");
  absl::ParseCommandLine(argc, argv);
  if (const std::string path = absl::GetFlag(FLAGS_write_request); !path.empty()) {
    return WriteRequestFrame(path);
  }
  const std::string workload = absl::GetFlag(FLAGS_workload);
  const bool search = workload == "search";
  if (!search && workload != "bulk" && workload != "ingest") {
    std::fprintf(stderr, "esgw-bench: --workload must be search, bulk or ingest\n");
    return 2;
  }
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "text" && output != "json") {
    std::fprintf(stderr, "esgw-bench: --output must be text or json\n");
    return 2;
  }
  const bool json = output == "json";
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const double rate = absl::GetFlag(FLAGS_rate);
  const int total = search ? (duration > absl::ZeroDuration() ? 0 : absl::GetFlag(FLAGS_requests))
                           : absl::GetFlag(FLAGS_docs);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int channels = absl::GetFlag(FLAGS_channels);
  if ((total <= 0 && !(search && duration > absl::ZeroDuration())) || concurrency <= 0 ||
      channels <= 0 || channels > 64 || duration < absl::ZeroDuration() || !(rate >= 0) ||
      (!search && (rate > 0 || duration > absl::ZeroDuration()))) {
    std::fprintf(stderr,
                 "esgw-bench: --requests (--docs) or --duration, and --concurrency must be "
                 "positive, --channels 1..64, --rate not negative; --rate and --duration are for "
                 "the search workload\n");
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
  std::vector<std::unique_ptr<esgw::v1::Gateway::Stub>> gateways;
  std::unique_ptr<esgw::v1::Admin::Stub> admin;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args = esgw::client::ChannelArgs(client_options);
    args.SetInt("esgw.bench.channel", i);  // a connection of its own
    absl::StatusOr<std::shared_ptr<grpc::Channel>> created =
        esgw::client::CreateChannel(client_options, args);
    if (!created.ok()) {
      std::fprintf(stderr, "esgw-bench: %s\n", std::string(created.status().message()).c_str());
      return 2;
    }
    gateways.push_back(esgw::v1::Gateway::NewStub(*created));
    if (i == 0) admin = esgw::v1::Admin::NewStub(*created);
  }
  Stubs stubs(std::move(gateways));

  if (search && absl::GetFlag(FLAGS_warmup) > 0) {
    RunSearch(stubs, absl::GetFlag(FLAGS_warmup), absl::InfiniteFuture(), concurrency, 0);
  }
  PoolTotals before, after;
  if (!ReadPool(admin.get(), &before)) return 1;
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int64_t rss_before = pid > 0 ? MemoryKib(pid, "VmRSS") : 0;
  const auto cpu_before = pid > 0 ? ThreadCpu(pid) : std::map<std::string, double>{};
  int64_t failed_items = 0;
  RunResult run = search ? RunSearch(stubs, total, absl::Now() + duration, concurrency, rate)
                  : workload == "bulk" ? RunBulk(stubs, total, concurrency, &failed_items)
                                       : RunIngest(stubs, total, concurrency, &failed_items);
  const auto cpu_after = pid > 0 ? ThreadCpu(pid) : std::map<std::string, double>{};
  if (!ReadPool(admin.get(), &after)) return 1;

  const double seconds = absl::ToDoubleSeconds(run.elapsed);
  // Ops: searches, or documents for bulk and ingest.
  const int64_t ops = search ? run.calls : total;
  int64_t opened = 0;
  for (const auto& [node, count] : after.connections) opened += count - before.connections[node];
  const int64_t requests = after.requests - before.requests;
  std::map<std::string, double> cpu_used;
  double cpu_all = 0;
  for (const auto& [name, seconds_after] : cpu_after) {
    const auto it = cpu_before.find(name);
    const double used = seconds_after - (it == cpu_before.end() ? 0 : it->second);
    cpu_all += used;
    if (used > 0) cpu_used[name] = used;
  }
  int64_t errors = 0;
  for (const auto& [code, count] : run.codes) errors += code == 0 ? 0 : count;
  const LatencyRecorder& latency = run.latency;
  const double per_op = ops > 0 ? 1e6 / static_cast<double>(ops) : 0;

  if (json) {
    std::vector<std::string> codes, threads, nodes;
    for (const auto& [code, count] : run.codes) {
      codes.push_back(absl::StrFormat(R"("%s":%d)", CodeName(code), count));
    }
    for (const auto& [name, used] : cpu_used) {
      threads.push_back(absl::StrFormat(R"("%s":%.2f)", name, used * per_op));
    }
    for (const auto& [node, count] : after.connections) {
      nodes.push_back(absl::StrFormat(R"("%s":%d)", node, count - before.connections[node]));
    }
    std::string out = absl::StrFormat(
        R"({"workload":"%s","mode":"%s","concurrency":%d,"channels":%d,"rate":%.3f,)"
        R"("seconds":%.3f,"calls":%d,"ops":%d,"ops_per_second":%.1f,"errors":%d,)"
        R"("failed_items":%d,"codes":{%s},"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,)"
        R"("p999":%.1f,"max":%.1f,"mean":%.1f,"min":%.1f},)"
        R"("pool":{"requests":%d,"retries":%d,"connections_opened":%d,"by_node":{%s}})",
        workload, rate > 0 ? "open" : "closed", concurrency, channels, rate, seconds, run.calls,
        ops, ops / seconds, errors, failed_items, absl::StrJoin(codes, ","),
        Micros(latency.ValueAt(0.5)), Micros(latency.ValueAt(0.9)), Micros(latency.ValueAt(0.99)),
        Micros(latency.ValueAt(0.999)), Micros(latency.max()), latency.mean() / 1e3,
        Micros(latency.min()), requests, after.retries - before.retries, opened,
        absl::StrJoin(nodes, ","));
    if (pid > 0) {
      absl::StrAppendFormat(
          &out,
          R"(,"server":{"cpu_us_per_op":%.2f,"cpu_us_per_op_by_thread":{%s},"rss_kib_before":%d,)"
          R"("rss_kib_after":%d,"rss_kib_peak":%d})",
          cpu_all * per_op, absl::StrJoin(threads, ","), rss_before, MemoryKib(pid, "VmRSS"),
          MemoryKib(pid, "VmHWM"));
    }
    std::printf("%s}\n", out.c_str());
  } else {
    if (search) {
      std::printf("searches: %lld %s at concurrency %d over %d channel(s) in %.2f s: %.0f/s\n",
                  static_cast<long long>(run.calls),
                  rate > 0 ? absl::StrFormat("open loop at %.0f/s", rate).c_str() : "closed loop",
                  concurrency, channels, seconds, run.calls / seconds);
    } else {
      const double mb = static_cast<double>(total) * absl::GetFlag(FLAGS_doc_bytes) / 1e6;
      std::printf(
          "%s: %d docs of %d bytes (%.0f MB) over %d %s in %.2f s: %.0f docs/s, %.1f MB/s, "
          "%lld failed\n",
          workload.c_str(), total, absl::GetFlag(FLAGS_doc_bytes), mb, concurrency,
          workload == "bulk" ? "callers" : "streams", seconds, total / seconds, mb / seconds,
          static_cast<long long>(failed_items));
    }
    std::printf("latency us (per %s): p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n",
                search ? "call" : (workload == "bulk" ? "Bulk call" : "stream"),
                Micros(latency.ValueAt(0.5)), Micros(latency.ValueAt(0.9)),
                Micros(latency.ValueAt(0.99)), Micros(latency.ValueAt(0.999)),
                Micros(latency.max()));
    std::printf("status codes:");
    for (const auto& [code, count] : run.codes) {
      std::printf(" %s x%lld", CodeName(code), static_cast<long long>(count));
    }
    std::printf("\n");
    for (const auto& [node, count] : after.connections) {
      std::printf("node %s: connections opened %lld (total %lld)\n", node.c_str(),
                  static_cast<long long>(count - before.connections[node]),
                  static_cast<long long>(count));
    }
    std::printf(
        "pool: %lld requests to nodes, %lld retries, %lld connections opened (%.0f "
        "requests per new connection)\n",
        static_cast<long long>(requests), static_cast<long long>(after.retries - before.retries),
        static_cast<long long>(opened), opened > 0 ? static_cast<double>(requests) / opened : 0.0);
    if (pid > 0) {
      const char* unit = search ? "search" : "doc";
      for (const auto& [name, used] : cpu_used) {
        std::printf("server cpu %-16s %8.1f us per %s\n", name.c_str(), used * per_op, unit);
      }
      std::printf("server cpu %-16s %8.1f us per %s\n", "(all threads)", cpu_all * per_op, unit);
      std::printf("server memory: rss %.1f MiB before, %.1f MiB after, peak %.1f MiB\n",
                  rss_before / 1024.0, MemoryKib(pid, "VmRSS") / 1024.0,
                  MemoryKib(pid, "VmHWM") / 1024.0);
    }
  }
  return errors == 0 && failed_items == 0 ? 0 : 1;
}
