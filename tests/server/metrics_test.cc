#include "server/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "pool/node_pool.h"
#include "server/health_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/prom_text.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusWriterTest, EscapesLabelValuesAndFormatsValues) {
  EXPECT_EQ(PrometheusWriter::EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(PrometheusWriter::FormatValue(3), "3");
  EXPECT_EQ(PrometheusWriter::FormatValue(-2), "-2");
  EXPECT_EQ(PrometheusWriter::FormatValue(0.25), "0.25");
  EXPECT_EQ(PrometheusWriter::FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(PrometheusWriter::FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(PrometheusWriter::FormatValue(NAN), "NaN");
  EXPECT_DOUBLE_EQ(std::stod(PrometheusWriter::FormatValue(0.1 + 0.2)), 0.1 + 0.2);

  std::string out;
  PrometheusWriter w(&out);
  w.Family("x_total", "counter", "Things.");
  w.Sample("x_total", {{"node", "a\"b"}}, 2);
  w.Sample("x_total", {}, 1);
  EXPECT_EQ(out,
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total{node=\"a\\\"b\"} 2\n"
            "x_total 1\n");
  auto parsed = testing::ParsePrometheusText(out);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Sum("x_total", {{"node", "a\"b"}}), 2);
}

TEST(PrometheusWriterTest, HistogramBucketsAreCumulative) {
  LatencyHistogram h;
  h.Observe(absl::Microseconds(800));  // le=0.001
  h.Observe(absl::Milliseconds(3));    // le=0.005
  h.Observe(absl::Milliseconds(3));
  h.Observe(absl::Seconds(90));  // +Inf only
  std::string out;
  PrometheusWriter w(&out);
  w.Family("d_seconds", "histogram", "Durations.");
  w.Histogram("d_seconds", {{"node", "n1"}}, h.Read());
  auto parsed = testing::ParsePrometheusText(out);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << out;
  EXPECT_EQ(parsed->Sum("d_seconds_bucket", {{"le", "0.0005"}}), 0);
  EXPECT_EQ(parsed->Sum("d_seconds_bucket", {{"le", "0.001"}}), 1);
  EXPECT_EQ(parsed->Sum("d_seconds_bucket", {{"le", "0.005"}}), 3);
  EXPECT_EQ(parsed->Sum("d_seconds_bucket", {{"le", "60"}}), 3);
  EXPECT_EQ(parsed->Sum("d_seconds_bucket", {{"le", "+Inf"}}), 4);
  EXPECT_EQ(parsed->Sum("d_seconds_count", {}), 4);
  EXPECT_NEAR(parsed->Sum("d_seconds_sum", {}), 90.0068, 1e-9);
}

TEST(RenderMetricsTest, ShowsGrpcCountersAndEveryNodeOfThePool) {
  testing::FakeClock clock;
  NodePool::Options options;
  options.clock = &clock;
  std::vector<NodeInfo> seeds(2);
  seeds[0].endpoint = {"http", "10.0.0.1", 9200};
  seeds[1].endpoint = {"http", "10.0.0.2", 9200};
  auto pool = NodePool::Create(options, seeds);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto hit = [&](const char* node, FailureClass outcome) {
    auto lease = (*pool)->SelectNode(node);
    ASSERT_TRUE(lease.ok());
    (*pool)->Record(*std::move(lease), outcome, absl::Milliseconds(2));
  };
  hit("10.0.0.1:9200", FailureClass::kSuccess);
  hit("10.0.0.1:9200", FailureClass::kBackpressure);
  hit("10.0.0.2:9200", FailureClass::kHard);  // ejected
  (*pool)->CountRetry("10.0.0.2:9200");

  GrpcServerMetrics grpc;
  grpc.RegisterService("grpc.health.v1.Health");
  GrpcServerMetrics::Method* search = grpc.Get("/esgw.v1.Gateway/Search", "unary");
  search->started += 3;
  search->handled[0] += 2;
  search->handled[14] += 1;
  search->handling.Observe(absl::Milliseconds(5));
  HealthService health({.clock = &clock});
  health.SetServing(true);

  const std::string text =
      RenderMetrics({.grpc = &grpc, .pool = pool->get(), .health = &health, .version = "9.9.9"});
  auto m = testing::ParsePrometheusText(text);
  ASSERT_TRUE(m.ok()) << m.status() << "\n" << text;
  EXPECT_EQ(m->Sum("grpc_server_started_total", {{"grpc_method", "Search"}}), 3);
  EXPECT_EQ(m->Sum("grpc_server_handled_total", {{"grpc_method", "Search"}, {"grpc_code", "OK"}}),
            2);
  EXPECT_EQ(m->Sum("grpc_server_handled_total",
                   {{"grpc_method", "Search"}, {"grpc_code", "UNAVAILABLE"}}),
            1);
  // Registered methods show at zero.
  EXPECT_EQ(m->Count("grpc_server_started_total", {{"grpc_service", "grpc.health.v1.Health"},
                                                   {"grpc_method", "Watch"},
                                                   {"grpc_type", "server_stream"}}),
            1);
  EXPECT_EQ(m->Sum("esgw_node_state", {{"node", "10.0.0.1:9200"}, {"state", "alive"}}), 1);
  EXPECT_EQ(m->Sum("esgw_node_state", {{"node", "10.0.0.2:9200"}, {"state", "dead"}}), 1);
  EXPECT_EQ(m->Sum("esgw_pool_nodes", {{"state", "dead"}}), 1);
  EXPECT_EQ(m->Sum("esgw_node_requests_total", {{"node", "10.0.0.1:9200"}}), 2);
  EXPECT_EQ(
      m->Sum("esgw_node_failures_total", {{"node", "10.0.0.1:9200"}, {"class", "backpressure"}}),
      1);
  EXPECT_EQ(m->Sum("esgw_node_failures_total", {{"node", "10.0.0.2:9200"}, {"class", "hard"}}), 1);
  EXPECT_EQ(m->Sum("esgw_node_retries_total", {{"node", "10.0.0.2:9200"}}), 1);
  EXPECT_EQ(m->Sum("esgw_retries_total"), 1);
  EXPECT_EQ(m->Sum("esgw_node_request_duration_seconds_count", {{"node", "10.0.0.1:9200"}}), 2);
  EXPECT_EQ(m->Sum("esgw_serving"), 1);
  EXPECT_EQ(m->Sum("esgw_build_info", {{"version", "9.9.9"}}), 1);
  EXPECT_EQ(m->types.at("esgw_node_request_duration_seconds"), "histogram");
  EXPECT_GT(m->Sum("process_resident_memory_bytes"), 0);
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
}

}  // namespace
}  // namespace esgw
