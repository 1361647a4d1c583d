#include "tests/devcluster/sample_data.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pool/status_macros.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/devcluster/json.h"

namespace esgw::devcluster {
namespace {

// A fixed linear congruential sequence keeps the dataset identical on every run.
class Sequence {
 public:
  uint32_t Next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state_ >> 33);
  }
  template <typename T, std::size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Next() % N];
  }

 private:
  uint64_t state_ = 20240501;
};

constexpr const char* kBrands[] = {"acme",  "globex",   "initech", "umbrella",
                                   "hooli", "vandelay", "stark",   "wayne"};
constexpr const char* kCategories[] = {"electronics", "kitchen", "garden",
                                       "toys",        "books",   "sports"};
constexpr const char* kAdjectives[] = {"Compact", "Deluxe", "Wireless", "Portable", "Classic",
                                       "Smart",   "Rugged", "Silent",   "Ultra",    "Mini"};
constexpr const char* kNouns[] = {"Kettle",  "Speaker", "Lamp",   "Backpack", "Drone",
                                  "Blender", "Novel",   "Racket", "Planter",  "Headphones"};
constexpr const char* kTags[] = {"new", "sale", "eco", "gift", "bestseller", "limited"};
constexpr const char* kLevels[] = {"INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"};
constexpr const char* kServices[] = {"checkout", "search", "auth", "inventory"};
constexpr const char* kHosts[] = {"web-1", "web-2", "worker-1"};
constexpr const char* kMessages[] = {"request completed",      "cache miss for product",
                                     "slow query detected",    "user login succeeded",
                                     "payment declined",       "connection reset by upstream",
                                     "inventory level updated"};

Json ProductsMapping() {
  return Json::parse(R"({"mappings":{"properties":{
    "name":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},
    "brand":{"type":"keyword"},
    "category":{"type":"keyword"},
    "price":{"type":"double"},
    "stock":{"type":"integer"},
    "rating":{"type":"float"},
    "in_stock":{"type":"boolean"},
    "released":{"type":"date"},
    "tags":{"type":"keyword"},
    "description":{"type":"text"}}}})",
                     nullptr, false);
}

Json LogsMapping() {
  return Json::parse(R"({"mappings":{"properties":{
    "@timestamp":{"type":"date"},
    "level":{"type":"keyword"},
    "service":{"type":"keyword"},
    "host":{"type":"keyword"},
    "message":{"type":"text"},
    "latency_ms":{"type":"long"},
    "status":{"type":"integer"},
    "trace_id":{"type":"keyword"}}}})",
                     nullptr, false);
}

}  // namespace

std::vector<SampleIndex> SampleDataset() {
  SampleIndex products{.name = "products", .create_body = Dump(ProductsMapping()), .docs = {}};
  SampleIndex logs{.name = "logs", .create_body = Dump(LogsMapping()), .docs = {}};
  Sequence sequence;
  for (int i = 1; i <= kSampleProductCount; ++i) {
    Json doc = Json::object();
    std::string adjective = sequence.Pick(kAdjectives);
    std::string noun = sequence.Pick(kNouns);
    doc["name"] = absl::StrCat(adjective, " ", noun, " ", i);
    doc["brand"] = sequence.Pick(kBrands);
    doc["category"] = sequence.Pick(kCategories);
    doc["price"] = static_cast<double>(sequence.Next() % 50000) / 100.0 + 1.0;
    doc["stock"] = sequence.Next() % 200;
    doc["rating"] = static_cast<double>(sequence.Next() % 41 + 10) / 10.0;
    doc["in_stock"] = doc["stock"].get<int64_t>() > 0;
    doc["released"] = absl::StrFormat("20%02d-%02d-%02d", 18 + sequence.Next() % 7,
                                      1 + sequence.Next() % 12, 1 + sequence.Next() % 28);
    Json tags = Json::array();
    tags.push_back(sequence.Pick(kTags));
    if (sequence.Next() % 2 == 0) tags.push_back(sequence.Pick(kTags));
    doc["tags"] = std::move(tags);
    doc["description"] =
        absl::StrCat("A ", absl::AsciiStrToLower(adjective), " ", absl::AsciiStrToLower(noun),
                     " made by ", doc["brand"].get<std::string>(), " for everyday use");
    products.docs.emplace_back(absl::StrFormat("p-%03d", i), Dump(doc));
  }
  const int64_t start_millis = 1714550400000;  // 2024-05-01T08:00:00Z
  for (int i = 1; i <= kSampleLogCount; ++i) {
    Json doc = Json::object();
    doc["@timestamp"] = FormatDateMillis(start_millis + int64_t{i} * 37000);
    std::string level = sequence.Pick(kLevels);
    doc["level"] = level;
    doc["service"] = sequence.Pick(kServices);
    doc["host"] = sequence.Pick(kHosts);
    doc["message"] = sequence.Pick(kMessages);
    doc["latency_ms"] = 5 + sequence.Next() % 900;
    doc["status"] = level == "ERROR" ? 500 : (level == "WARN" ? 429 : 200);
    doc["trace_id"] = absl::StrFormat("%08x", sequence.Next());
    logs.docs.emplace_back(absl::StrFormat("log-%04d", i), Dump(doc));
  }
  std::vector<SampleIndex> dataset;
  dataset.push_back(std::move(products));
  dataset.push_back(std::move(logs));
  return dataset;
}

absl::Status LoadSampleData(ClusterState& state) {
  for (const SampleIndex& index : SampleDataset()) {
    ESGW_RETURN_IF_ERROR(state.CreateIndex(index.name, index.create_body).status());
    for (const auto& [id, source] : index.docs) {
      WriteOp op;
      op.type = WriteOp::Type::kIndex;
      op.index = index.name;
      op.id = id;
      op.source = source;
      WriteResult result = state.Write(op, false, false);
      if (result.error.has_value()) return ToStatus(*result.error);
    }
  }
  return absl::OkStatus();
}

absl::Status LoadSampleDataOverHttp(const std::string& address) {
  for (const SampleIndex& index : SampleDataset()) {
    ESGW_ASSIGN_OR_RETURN(
        auto count, HttpRequestOnce(address, "GET", absl::StrCat("/", index.name, "/_count")));
    if (count.status == 200) {
      const std::optional<Json> json = ParseJson(count.body);
      const int64_t docs = json.has_value() ? json->value("count", int64_t{-1}) : -1;
      if (docs == static_cast<int64_t>(index.docs.size())) continue;
      return absl::FailedPreconditionError(absl::StrCat(
          "index '", index.name, "' on ", address, " holds ", docs, " documents, not the sample's ",
          index.docs.size(), "; delete it or use an empty cluster"));
    }
    const HeaderList json_type = {{"Content-Type", "application/json"}};
    ESGW_ASSIGN_OR_RETURN(auto created,
                          HttpRequestOnce(address, "PUT", absl::StrCat("/", index.name),
                                          index.create_body, json_type));
    if (created.status != 200) {
      return absl::InternalError(
          absl::StrCat("creating '", index.name, "': HTTP ", created.status, ": ", created.body));
    }
    std::string ndjson;
    for (const auto& [id, source] : index.docs) {
      absl::StrAppend(&ndjson, Dump(Json{{"index", Json{{"_id", id}}}}), "\n", source, "\n");
    }
    ESGW_ASSIGN_OR_RETURN(
        auto bulk,
        HttpRequestOnce(address, "POST", absl::StrCat("/", index.name, "/_bulk?refresh=true"),
                        ndjson, {{"Content-Type", "application/x-ndjson"}}));
    const std::optional<Json> result = ParseJson(bulk.body);
    if (bulk.status != 200 || !result.has_value() || result->value("errors", true)) {
      return absl::InternalError(absl::StrCat("loading '", index.name, "': HTTP ", bulk.status,
                                              ": ", bulk.body.substr(0, 2000)));
    }
  }
  return absl::OkStatus();
}

}  // namespace esgw::devcluster
