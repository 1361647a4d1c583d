// NodePool::Select + Record, the per-attempt cost on the request path, at 1, 2 and 8 threads
// over 3 and 30 nodes. Each thread selects, then records a success with a small latency.
//   build/bin/esgw_pool_bench   (not a ctest)
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "pool/node_pool.h"

namespace esgw {
namespace {

std::unique_ptr<NodePool> g_pool;

void SetUpPool(const benchmark::State& state) {
  std::vector<NodeInfo> seeds;
  for (int i = 0; i < state.range(0); ++i) {
    NodeInfo n;
    n.endpoint = {"http", "10.0.0.1", 9200 + i};
    seeds.push_back(n);
  }
  NodePool::Options options;
  options.random_seed = 1;
  g_pool = *NodePool::Create(options, seeds);
}

void TearDownPool(const benchmark::State&) { g_pool.reset(); }

void BM_SelectRecord(benchmark::State& state) {
  const absl::Duration latency = absl::Microseconds(300 + 50 * state.thread_index());
  for (auto _ : state) {
    absl::StatusOr<NodePool::Lease> lease = g_pool->Select();
    benchmark::DoNotOptimize(lease);
    g_pool->Record(*std::move(lease), FailureClass::kSuccess, latency);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SelectRecordAfterAFailedAttempt(benchmark::State& state) {
  // A retry: one node already tried.
  const std::vector<std::string> tried = {"10.0.0.1:9200"};
  for (auto _ : state) {
    absl::StatusOr<NodePool::Lease> lease = g_pool->Select(tried);
    benchmark::DoNotOptimize(lease);
    g_pool->Record(*std::move(lease), FailureClass::kSuccess, absl::Microseconds(300));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_SelectRecord)
    ->Setup(SetUpPool)
    ->Teardown(TearDownPool)
    ->Arg(3)
    ->Arg(30)
    ->Threads(1)
    ->Threads(2)
    ->Threads(8)
    ->UseRealTime();
BENCHMARK(BM_SelectRecordAfterAFailedAttempt)
    ->Setup(SetUpPool)
    ->Teardown(TearDownPool)
    ->Arg(3)
    ->Arg(30)
    ->Threads(1)
    ->UseRealTime();

}  // namespace
}  // namespace esgw

BENCHMARK_MAIN();
