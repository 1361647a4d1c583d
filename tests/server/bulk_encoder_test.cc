// Validation, NDJSON encoding and batching of bulk operations (server/bulk_encoder.h).
#include "server/bulk_encoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pool/error_info.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;

v1::BulkOp Op(v1::OpType type, std::string index, std::string id, std::string source) {
  v1::BulkOp op;
  op.set_type(type);
  op.set_index(std::move(index));
  op.set_id(std::move(id));
  op.set_source_json(std::move(source));
  return op;
}

std::string Encode(const v1::BulkOp& op, const BulkDefaults& defaults = {}) {
  absl::StatusOr<EncodedOp> encoded = EncodeBulkOp(op, defaults, "ops[0]");
  EXPECT_THAT(encoded, IsOk());
  return encoded.ok() ? encoded->ndjson : "";
}

TEST(EncodeBulkOpTest, IndexWithEverySetting) {
  v1::BulkOp op = Op(v1::OP_TYPE_INDEX, "products", "p-1", R"({"name":"lamp","price":12.5})");
  op.set_routing("shop-7");
  op.set_pipeline("enrich");
  op.set_if_seq_no(41);
  op.set_if_primary_term(2);
  op.set_seq(99);
  absl::StatusOr<EncodedOp> encoded = EncodeBulkOp(op, {}, "ops[0]");
  ASSERT_THAT(encoded, IsOk());
  EXPECT_EQ(encoded->ndjson,
            "{\"index\":{\"_index\":\"products\",\"_id\":\"p-1\",\"routing\":\"shop-7\","
            "\"pipeline\":\"enrich\",\"if_seq_no\":41,\"if_primary_term\":2}}\n"
            "{\"name\":\"lamp\",\"price\":12.5}\n");
  EXPECT_EQ(encoded->seq, 99u);
  EXPECT_EQ(encoded->type, v1::OP_TYPE_INDEX);
  EXPECT_EQ(encoded->index, "products");
  EXPECT_EQ(encoded->id, "p-1");
  EXPECT_TRUE(encoded->has_id);
  EXPECT_FALSE(encoded->document_key.empty());
  EXPECT_EQ(encoded->payload_bytes, op.source_json().size());
}

TEST(EncodeBulkOpTest, CreateWithoutIdLetsElasticsearchPickOne) {
  absl::StatusOr<EncodedOp> encoded =
      EncodeBulkOp(Op(v1::OP_TYPE_CREATE, "logs", "", R"({"msg":"hi"})"), {}, "ops[0]");
  ASSERT_THAT(encoded, IsOk());
  EXPECT_EQ(encoded->ndjson, "{\"create\":{\"_index\":\"logs\"}}\n{\"msg\":\"hi\"}\n");
  EXPECT_FALSE(encoded->has_id);
  EXPECT_EQ(encoded->document_key, "") << "every id-less op is a new document";
}

TEST(EncodeBulkOpTest, UpdateAndDelete) {
  EXPECT_EQ(Encode(Op(v1::OP_TYPE_UPDATE, "p", "1", R"({"doc":{"a":1}})")),
            "{\"update\":{\"_index\":\"p\",\"_id\":\"1\"}}\n{\"doc\":{\"a\":1}}\n");
  EXPECT_EQ(Encode(Op(v1::OP_TYPE_DELETE, "p", "1", "")),
            "{\"delete\":{\"_index\":\"p\",\"_id\":\"1\"}}\n")
      << "a delete has no source line";
}

TEST(EncodeBulkOpTest, DefaultsApplyWhereTheOpSetsNothing) {
  const BulkDefaults defaults{.index = "dflt", .routing = "r0", .pipeline = "pl"};
  EXPECT_EQ(Encode(Op(v1::OP_TYPE_INDEX, "", "1", "{}"), defaults),
            "{\"index\":{\"_index\":\"dflt\",\"_id\":\"1\",\"routing\":\"r0\",\"pipeline\":\"pl\"}}"
            "\n{}\n");
  v1::BulkOp own = Op(v1::OP_TYPE_INDEX, "mine", "1", "{}");
  own.set_routing("r1");
  own.set_pipeline("p1");
  EXPECT_EQ(Encode(own, defaults),
            "{\"index\":{\"_index\":\"mine\",\"_id\":\"1\",\"routing\":\"r1\",\"pipeline\":\"p1\"}}"
            "\n{}\n");
  EXPECT_EQ(Encode(Op(v1::OP_TYPE_DELETE, "", "1", ""), defaults),
            "{\"delete\":{\"_index\":\"dflt\",\"_id\":\"1\",\"routing\":\"r0\"}}\n")
      << "a delete runs no pipeline, so the default one is left out";
}

TEST(EncodeBulkOpTest, StringsAreJsonEscaped) {
  v1::BulkOp op = Op(v1::OP_TYPE_INDEX, "caf\xC3\xA9",
                     "a\"b\\c\nd\te\x01\x1f\x7f \xE2\x82\xAC \xF0\x9F\x98\x80", "{}");
  op.set_routing("r\"\\");
  EXPECT_EQ(Encode(op),
            "{\"index\":{\"_index\":\"caf\xC3\xA9\",\"_id\":\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f"
            "\x7f \xE2\x82\xAC \xF0\x9F\x98\x80\",\"routing\":\"r\\\"\\\\\"}}\n{}\n");
}

TEST(EncodeBulkOpTest, LineBreaksInTheSourceBecomeSpaces) {
  // Raw CR/LF can only be whitespace in valid JSON; the escaped \n inside the string stays.
  EXPECT_EQ(Encode(Op(v1::OP_TYPE_INDEX, "p", "1", "{\r\n  \"a\": \"x\\ny\"\n}\n")),
            "{\"index\":{\"_index\":\"p\",\"_id\":\"1\"}}\n{    \"a\": \"x\\ny\" } \n");
}

TEST(EncodeBulkOpTest, ARawLineBreakInsideAStringIsInvalidNotMadeASpace) {
  // The source is checked before line breaks become spaces: "x<LF>y" is not a JSON string.
  EXPECT_THAT(EncodeBulkOp(Op(v1::OP_TYPE_INDEX, "p", "1", "{\"a\":\"x\ny\"}"), {}, "ops[4]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("ops[4].source_json"), HasSubstr("valid JSON"))));
}

TEST(EncodeBulkOpTest, ASourceIsCheckedInPlaceWhateverTheActionLineGrewTo) {
  // 300 control characters escape to 1,800 bytes, far past what was reserved for the action
  // line, so the line grows while it is built; the source is then checked where it lies in the
  // line. (That it keeps simdjson's padding after it is not visible here: the parser library is
  // not instrumented, so ASan cannot see its reads.)
  // Every size up to 4 KiB, so that some land where the line's growth leaves no room after it.
  for (size_t source_bytes = 8; source_bytes <= 4096; ++source_bytes) {
    const std::string source = absl::StrCat("{\"p\":\"", std::string(source_bytes - 8, 'x'), "\"}");
    const v1::BulkOp op = Op(v1::OP_TYPE_INDEX, "p", std::string(300, '\x01'), source);
    absl::StatusOr<EncodedOp> encoded = EncodeBulkOp(op, {}, "ops[0]");
    ASSERT_THAT(encoded, IsOk()) << source_bytes;
    EXPECT_TRUE(absl::EndsWith(encoded->ndjson, absl::StrCat("}}\n", source, "\n")));
    // Cut short by its closing brace, the same source is refused: only its own bytes count.
    const v1::BulkOp cut =
        Op(v1::OP_TYPE_INDEX, "p", std::string(300, '\x01'), source.substr(0, source.size() - 1));
    EXPECT_THAT(EncodeBulkOp(cut, {}, "ops[0]"), StatusIs(absl::StatusCode::kInvalidArgument))
        << source_bytes;
  }
}

TEST(EncodeBulkOpTest, EveryRuleIsReportedNamingTheField) {
  struct Case {
    std::string name;
    std::function<void(v1::BulkOp*)> change;
    BulkDefaults defaults;
    std::string field;
    std::string rule;
  };
  const std::vector<Case> cases = {
      {"type unset",
       [](v1::BulkOp* op) { op->set_type(v1::OP_TYPE_UNSPECIFIED); },
       {},
       "ops[3].type",
       "OP_TYPE_INDEX"},
      {"no index", [](v1::BulkOp* op) { op->clear_index(); }, {}, "ops[3].index", "required"},
      {"bad index",
       [](v1::BulkOp* op) { op->set_index("Upper"); },
       {},
       "ops[3].index",
       "lowercase"},
      {"wildcard index",
       [](v1::BulkOp* op) { op->set_index("logs-*"); },
       {},
       "ops[3].index",
       "'*'"},
      {"bad default index",
       [](v1::BulkOp* op) { op->clear_index(); },
       {.index = "_x"},
       "index",
       "must not start"},
      {"update without id",
       [](v1::BulkOp* op) {
         op->set_type(v1::OP_TYPE_UPDATE);
         op->clear_id();
       },
       {},
       "ops[3].id",
       "required for OP_TYPE_UPDATE"},
      {"delete without id",
       [](v1::BulkOp* op) {
         op->set_type(v1::OP_TYPE_DELETE);
         op->clear_id();
         op->clear_source_json();
       },
       {},
       "ops[3].id",
       "required for OP_TYPE_DELETE"},
      {"long id",
       [](v1::BulkOp* op) { op->set_id(std::string(513, 'x')); },
       {},
       "ops[3].id",
       "512 bytes"},
      {"id not utf-8", [](v1::BulkOp* op) { op->set_id("a\xff"); }, {}, "ops[3].id", "UTF-8"},
      {"no source",
       [](v1::BulkOp* op) { op->clear_source_json(); },
       {},
       "ops[3].source_json",
       "required for OP_TYPE_INDEX"},
      {"source not json",
       [](v1::BulkOp* op) { op->set_source_json("{\"a\":"); },
       {},
       "ops[3].source_json",
       "valid JSON"},
      {"source not an object",
       [](v1::BulkOp* op) { op->set_source_json("[1,2]"); },
       {},
       "ops[3].source_json",
       "JSON object"},
      {"two documents in the source",
       [](v1::BulkOp* op) { op->set_source_json("{}\n{}"); },
       {},
       "ops[3].source_json",
       "valid JSON"},
      {"delete with source",
       [](v1::BulkOp* op) { op->set_type(v1::OP_TYPE_DELETE); },
       {},
       "ops[3].source_json",
       "must be empty"},
      {"routing with newline",
       [](v1::BulkOp* op) { op->set_routing("a\r\nb"); },
       {},
       "ops[3].routing",
       "control characters"},
      {"default routing with newline",
       [](v1::BulkOp*) {},
       {.routing = "a\nb"},
       "routing",
       "control characters"},
      {"pipeline with NUL",
       [](v1::BulkOp* op) { op->set_pipeline(std::string("a\0b", 3)); },
       {},
       "ops[3].pipeline",
       "control characters"},
      {"default pipeline too long",
       [](v1::BulkOp*) {},
       {.pipeline = std::string(600, 'p')},
       "pipeline",
       "512 bytes"},
      {"delete with pipeline",
       [](v1::BulkOp* op) {
         op->set_type(v1::OP_TYPE_DELETE);
         op->clear_source_json();
         op->set_pipeline("p");
       },
       {},
       "ops[3].pipeline",
       "must be empty"},
      {"if_seq_no alone",
       [](v1::BulkOp* op) { op->set_if_seq_no(1); },
       {},
       "ops[3].if_primary_term",
       "set together"},
      {"if_primary_term alone",
       [](v1::BulkOp* op) { op->set_if_primary_term(1); },
       {},
       "ops[3].if_seq_no",
       "set together"},
      {"negative if_seq_no",
       [](v1::BulkOp* op) {
         op->set_if_seq_no(-1);
         op->set_if_primary_term(1);
       },
       {},
       "ops[3].if_seq_no",
       "negative"},
      {"zero if_primary_term",
       [](v1::BulkOp* op) {
         op->set_if_seq_no(0);
         op->set_if_primary_term(0);
       },
       {},
       "ops[3].if_primary_term",
       "positive"},
      {"create with if_seq_no",
       [](v1::BulkOp* op) {
         op->set_type(v1::OP_TYPE_CREATE);
         op->set_if_seq_no(0);
         op->set_if_primary_term(1);
       },
       {},
       "ops[3].if_seq_no",
       "OP_TYPE_INDEX"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::BulkOp op = Op(v1::OP_TYPE_INDEX, "products", "1", R"({"a":1})");
    c.change(&op);
    const absl::StatusOr<EncodedOp> encoded = EncodeBulkOp(op, c.defaults, "ops[3]");
    EXPECT_THAT(encoded, StatusIs(absl::StatusCode::kInvalidArgument,
                                  AllOf(HasSubstr(c.field), HasSubstr(c.rule))));
    EXPECT_EQ(GetErrorInfo(encoded.status()).metadata["field"], c.field);
  }
}

EncodedOp Encoded(v1::OpType type, std::string id, std::string source = "{}") {
  if (type == v1::OP_TYPE_DELETE) source.clear();
  absl::StatusOr<EncodedOp> encoded =
      EncodeBulkOp(Op(type, "i", std::move(id), std::move(source)), {}, "ops[0]");
  EXPECT_THAT(encoded, IsOk());
  return encoded.ok() ? *encoded : EncodedOp{};
}

TEST(WholeBatchIdempotentTest, OnlyIndexAndDeleteWithIdsMayBeResent) {
  const EncodedOp index_id = Encoded(v1::OP_TYPE_INDEX, "1");
  const EncodedOp delete_id = Encoded(v1::OP_TYPE_DELETE, "2");
  EXPECT_TRUE(WholeBatchIdempotent({index_id, delete_id}));
  EXPECT_TRUE(WholeBatchIdempotent({}));
  EXPECT_FALSE(WholeBatchIdempotent({index_id, Encoded(v1::OP_TYPE_INDEX, "")}))
      << "a resent index without id makes a second document";
  EXPECT_FALSE(WholeBatchIdempotent({index_id, Encoded(v1::OP_TYPE_CREATE, "3")}))
      << "a resent create fails with 409 after it succeeded";
  EXPECT_FALSE(WholeBatchIdempotent({Encoded(v1::OP_TYPE_UPDATE, "4", R"({"doc":{}})")}))
      << "an update (a script, a counter) may apply twice";
}

TEST(SplitIntoBatchesTest, ByCount) {
  const std::vector<EncodedOp> ops(5, Encoded(v1::OP_TYPE_INDEX, "1"));
  EXPECT_THAT(SplitIntoBatches(ops, {.max_batch_ops = 2}), ElementsAre(2, 2, 1));
  EXPECT_THAT(SplitIntoBatches(ops, {}), ElementsAre(5));
  EXPECT_TRUE(SplitIntoBatches({}, {}).empty());
}

TEST(SplitIntoBatchesTest, ByBytesWithAnOversizeOpAlone) {
  const EncodedOp small = Encoded(v1::OP_TYPE_INDEX, "1", R"({"a":"xxxxxxxx"})");
  const EncodedOp big =
      Encoded(v1::OP_TYPE_INDEX, "2", R"({"a":")" + std::string(500, 'x') + "\"}");
  const size_t two_small = 2 * small.ndjson.size();
  const BulkSettings settings{.max_batch_bytes = two_small + 1};
  ASSERT_GT(big.ndjson.size(), settings.max_batch_bytes);
  EXPECT_THAT(SplitIntoBatches({small, small, small, big, small, small, small}, settings),
              ElementsAre(2, 1, 1, 2, 1));
  // Exactly at the limit still fits.
  EXPECT_THAT(SplitIntoBatches({small, small, small}, {.max_batch_bytes = two_small}),
              ElementsAre(2, 1));
}

TEST(FailedItemTest, CarriesTheOpAndBoundsTheReason) {
  const std::string long_reason(5000, 'r');
  const v1::BulkItemResult item = FailedItem(7, "i", "d", 400, "esgw_invalid_op", long_reason);
  EXPECT_EQ(item.seq(), 7u);
  EXPECT_EQ(item.index(), "i");
  EXPECT_EQ(item.id(), "d");
  EXPECT_EQ(item.status(), 400);
  EXPECT_EQ(item.error().type(), "esgw_invalid_op");
  EXPECT_LE(item.error().reason().size(), kMaxItemReasonBytes);
  EXPECT_GT(item.error().reason().size(), 1000u);
}

}  // namespace
}  // namespace esgw
