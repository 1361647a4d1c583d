// Throughput of ParseSearchResponse on Elasticsearch 8 style responses with 10 and 100 hits of
// about 1 KB of _source each, reading in place (padded view) and through the copying overload.
// Reports bytes/s (MB/s) and ns per response. Not run by ctest: build/bin/esgw_es_response_bench.
#include <benchmark/benchmark.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "esgw/v1/gateway.pb.h"
#include "server/es_response.h"

namespace esgw {
namespace {

// A pretty-printed search response like a real node sends: shards, total, scores, sort values and
// a ~1 KB _source per hit with strings, numbers, arrays and a nested object.
std::string MakeSearchResponse(int hits) {
  std::string body = R"({
  "took" : 12,
  "timed_out" : false,
  "_shards" : { "total" : 3, "successful" : 3, "skipped" : 0, "failed" : 0 },
  "hits" : {
    "total" : { "value" : 48213, "relation" : "eq" },
    "max_score" : 3.1415927,
    "hits" : [)";
  for (int i = 0; i < hits; ++i) {
    if (i > 0) body += ",";
    absl::StrAppend(&body, R"(
      {
        "_index" : "products-2024.06",
        "_id" : "sku-)",
                    100000 + i, R"(",
        "_score" : )",
                    3.1415927 - i * 0.01, R"(,
        "_source" : {
          "sku" : "sku-)",
                    100000 + i, R"(",
          "name" : "Stainless steel pour-over kettle with thermometer, 1.2 l, model )",
                    i, R"(",
          "description" : "A gooseneck kettle for slow, even pours. Holds 1.2 litres, heats on gas, electric and induction hobs, and shows the water temperature on a dial in the lid. Brushed steel body, heat-proof handle, dishwasher safe.",
          "brand" : "Acme Housewares",
          "category" : [ "kitchen", "coffee & tea", "kettles" ],
          "price" : { "amount" : 49.95, "currency" : "EUR", "vat_rate" : 0.21 },
          "stock" : { "warehouse" : "AMS-2", "on_hand" : )",
                    17 * i, R"(, "reserved" : 3 },
          "rating" : { "average" : 4.6, "count" : 1284 },
          "tags" : [ "gift", "stainless-steel", "induction", "bestseller" ],
          "dimensions" : { "width_cm" : 28.5, "height_cm" : 21.0, "depth_cm" : 15.2, "weight_kg" : 0.98 },
          "supplier" : { "id" : "sup-0042", "name" : "Acme Housewares B.V.", "country" : "NL" },
          "active" : true,
          "created_at" : "2023-11-20T08:00:00Z",
          "updated_at" : "2024-06-01T12:34:56.789Z"
        },
        "sort" : [ )",
                    3.1415927 - i * 0.01, R"(, "sku-)", 100000 + i, R"(" ]
      })");
  }
  body += "\n    ]\n  }\n}\n";
  return body;
}

void BM_ParseSearchPadded(benchmark::State& state) {
  std::string body = MakeSearchResponse(static_cast<int>(state.range(0)));
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  const simdjson::padded_string_view view(body);
  v1::SearchResponse response;
  if (!ParseSearchResponse(view, &response).ok() || response.hits_size() != state.range(0) ||
      response.hits(0).source_json().size() < 900) {
    state.SkipWithError("fixture does not parse as intended");
    return;
  }
  for (auto _ : state) {
    if (!ParseSearchResponse(view, &response).ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(response);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetLabel(absl::StrCat(body.size(), " bytes"));
}
BENCHMARK(BM_ParseSearchPadded)->Arg(10)->Arg(100);

void BM_ParseSearchCopying(benchmark::State& state) {
  const std::string body = MakeSearchResponse(static_cast<int>(state.range(0)));
  v1::SearchResponse response;
  for (auto _ : state) {
    if (!ParseSearchResponse(absl::string_view(body), &response).ok()) {
      state.SkipWithError("parse failed");
    }
    benchmark::DoNotOptimize(response);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetLabel(absl::StrCat(body.size(), " bytes"));
}
BENCHMARK(BM_ParseSearchCopying)->Arg(10)->Arg(100);

}  // namespace
}  // namespace esgw

BENCHMARK_MAIN();
