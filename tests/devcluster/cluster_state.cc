#include "tests/devcluster/cluster_state.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "pool/status_macros.h"
#include "tests/devcluster/http_message.h"

namespace esgw::devcluster {
namespace {

constexpr char kForbiddenIndexChars[] = "\\/*?\"<>| ,#:";

EsError ConflictError(const IndexData& index, const std::string& id, std::string detail) {
  EsError error;
  error.status = 409;
  error.type = "version_conflict_engine_exception";
  error.reason = absl::StrCat("[", id, "]: version conflict, ", detail);
  error.extra["index_uuid"] = index.uuid;
  error.extra["shard"] = "0";
  error.extra["index"] = index.name;
  return error;
}

EsError DocumentParsingError(absl::string_view source, absl::string_view what) {
  EsError error;
  error.status = 400;
  error.type = "document_parsing_exception";
  JsonSyntaxError syntax = DescribeJsonError(source);
  error.reason = absl::StrCat("[", syntax.line, ":", syntax.column, "] ", what);
  return error;
}

// Elasticsearch refuses a document whose value cannot be stored in the field's mapped type.
std::optional<EsError> CheckAgainstMapping(const IndexMapping& mapping, const Json& node,
                                           const std::string& path, const std::string& id) {
  if (node.is_object()) {
    for (const auto& [key, child] : node.items()) {
      std::optional<EsError> error =
          CheckAgainstMapping(mapping, child, path.empty() ? key : path + "." + key, id);
      if (error.has_value()) return error;
    }
    return std::nullopt;
  }
  if (node.is_array()) {
    for (const Json& element : node) {
      std::optional<EsError> error = CheckAgainstMapping(mapping, element, path, id);
      if (error.has_value()) return error;
    }
    return std::nullopt;
  }
  if (node.is_null()) return std::nullopt;
  const FieldMapping* field = mapping.Lookup(path);
  if (field == nullptr) return std::nullopt;
  bool ok = true;
  switch (field->type) {
    case FieldType::kLong:
    case FieldType::kDouble:
    case FieldType::kDate:
    case FieldType::kBoolean:
      ok = ConvertQueryValue(node, field->type).has_value();
      break;
    case FieldType::kObject:
      ok = false;
      break;
    default:
      break;
  }
  if (ok) return std::nullopt;
  EsError error;
  error.status = 400;
  error.type = "document_parsing_exception";
  std::string preview = node.is_string() ? node.get<std::string>() : Dump(node);
  error.reason =
      absl::StrCat("[1:1] failed to parse field [", path, "] of type [", field->es_type,
                   "] in document with id '", id, "'. Preview of field's value: '", preview, "'");
  return error;
}

void DeepMerge(Json* target, const Json& patch) {
  if (!target->is_object() || !patch.is_object()) {
    *target = patch;
    return;
  }
  for (const auto& [key, value] : patch.items()) {
    auto it = target->find(key);
    if (it != target->end() && it->is_object() && value.is_object()) {
      DeepMerge(&*it, value);
    } else {
      (*target)[key] = value;
    }
  }
}

}  // namespace

Json WriteResult::ToBulkItem() const {
  if (error.has_value()) {
    Json item = Json::object();
    item["_index"] = index;
    item["_id"] = id;
    item["status"] = status;
    item["error"] = error->ToFlatJson();
    return item;
  }
  Json item = body;
  item["status"] = status;
  return item;
}

std::optional<EsError> ValidateIndexName(const std::string& name) {
  if (name.empty()) return InvalidIndexName(name, "must not be empty");
  if (name == "." || name == "..") return InvalidIndexName(name, "must not be '.' or '..'");
  if (name.size() > 255) {
    return InvalidIndexName(name,
                            absl::StrCat("index name is too long, (", name.size(), " > 255)"));
  }
  if (name[0] == '_' || name[0] == '-' || name[0] == '+') {
    return InvalidIndexName(name, "must not start with '_', '-', or '+'");
  }
  if (name.find_first_of(kForbiddenIndexChars) != std::string::npos) {
    return InvalidIndexName(
        name, "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?, #, :]");
  }
  if (absl::AsciiStrToLower(name) != name) return InvalidIndexName(name, "must be lowercase");
  return std::nullopt;
}

ClusterState::ClusterState(int replicas) : replicas_(replicas) {}

std::string ClusterState::RandomBase64(int bytes) {
  std::string raw;
  std::lock_guard<std::mutex> lock(id_mu_);
  for (int i = 0; i < bytes; ++i) {
    raw.push_back(static_cast<char>(absl::Uniform<unsigned>(bitgen_, 0u, 256u)));
  }
  return Base64UrlEncode(raw);
}

std::string ClusterState::GenerateId() {
  // Time, a counter and randomness, 15 bytes, so ids are unique and roughly time-ordered.
  std::string raw;
  uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(absl::Now()));
  std::lock_guard<std::mutex> lock(id_mu_);
  uint64_t counter = ++id_counter_;
  for (int shift = 40; shift >= 0; shift -= 8) raw.push_back(static_cast<char>(millis >> shift));
  for (int shift = 16; shift >= 0; shift -= 8) raw.push_back(static_cast<char>(counter >> shift));
  for (int i = 0; i < 6; ++i) {
    raw.push_back(static_cast<char>(absl::Uniform<unsigned>(bitgen_, 0u, 256u)));
  }
  return Base64UrlEncode(raw);
}

Json ClusterState::ShardsJson() const {
  Json shards = Json::object();
  shards["total"] = 1 + replicas_;
  shards["successful"] = 1 + replicas_;
  shards["failed"] = 0;
  return shards;
}

absl::StatusOr<IndexData*> ClusterState::CreateLocked(const std::string& name, const Json* body) {
  if (std::optional<EsError> invalid = ValidateIndexName(name)) return ToStatus(*invalid);
  if (auto it = indices_.find(name); it != indices_.end()) {
    EsError error;
    error.status = 400;
    error.type = "resource_already_exists_exception";
    error.reason = absl::StrCat("index [", name, "/", it->second->uuid, "] already exists");
    error.extra["index_uuid"] = it->second->uuid;
    error.extra["index"] = name;
    return ToStatus(error);
  }
  auto index = std::make_unique<IndexData>();
  index->name = name;
  index->uuid = RandomBase64(16);
  index->creation_date_millis = absl::ToUnixMillis(absl::Now());
  index->number_of_replicas = replicas_;
  if (body != nullptr) {
    for (const auto& [key, value] : body->items()) {
      if (key == "mappings") {
        ESGW_RETURN_IF_ERROR(index->mapping.ApplyExplicit(value));
      } else if (key == "settings") {
        index->settings = value;
      } else if (key != "aliases") {
        EsError error;
        error.status = 400;
        error.type = "parse_exception";
        error.reason = absl::StrCat("unknown key [", key, "] for create index");
        return ToStatus(error);
      }
    }
  }
  IndexData* raw = index.get();
  indices_[name] = std::move(index);
  return raw;
}

absl::StatusOr<IndexData*> ClusterState::GetOrCreateLocked(const std::string& name) {
  auto it = indices_.find(name);
  if (it != indices_.end()) return it->second.get();
  return CreateLocked(name, nullptr);
}

absl::StatusOr<Json> ClusterState::CreateIndex(const std::string& name, absl::string_view body) {
  std::optional<Json> parsed;
  if (body.find_first_not_of(" \t\r\n") != absl::string_view::npos) {
    parsed = ParseJson(body);
    if (!parsed.has_value()) return ToStatus(XContentParseError(body));
    if (!parsed->is_object()) return ToStatus(ParsingError("request body must be an object", 1, 1));
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  ESGW_RETURN_IF_ERROR(CreateLocked(name, parsed.has_value() ? &*parsed : nullptr).status());
  Json out = Json::object();
  out["acknowledged"] = true;
  out["shards_acknowledged"] = true;
  out["index"] = name;
  return out;
}

absl::StatusOr<std::vector<IndexData*>> ClusterState::ResolveLocked(const std::string& expression,
                                                                    const ResolveOptions& options) {
  std::vector<std::string> all_names;
  for (const auto& [name, index] : indices_) all_names.push_back(name);
  std::sort(all_names.begin(), all_names.end());
  std::vector<std::string> chosen;
  auto add = [&chosen](const std::string& name) {
    if (std::find(chosen.begin(), chosen.end(), name) == chosen.end()) chosen.push_back(name);
  };
  std::vector<std::string> parts = absl::StrSplit(expression, ',', absl::SkipEmpty());
  if (parts.empty() || (parts.size() == 1 && parts[0] == "_all")) parts = {"*"};
  for (const std::string& part : parts) {
    if (part[0] == '-' && !chosen.empty()) {
      std::string pattern = part.substr(1);
      chosen.erase(
          std::remove_if(chosen.begin(), chosen.end(),
                         [&](const std::string& name) { return GlobMatch(pattern, name); }),
          chosen.end());
      continue;
    }
    if (absl::StrContains(part, '*')) {
      bool any = false;
      for (const std::string& name : all_names) {
        // Wildcards skip hidden (dot-prefixed) indices unless the pattern names them.
        if (name[0] == '.' && part[0] != '.') continue;
        if (GlobMatch(part, name)) {
          add(name);
          any = true;
        }
      }
      if (!any && !options.allow_no_indices) return ToStatus(IndexNotFound(part));
      continue;
    }
    if (indices_.contains(part)) {
      add(part);
    } else if (!options.ignore_unavailable) {
      return ToStatus(IndexNotFound(part));
    }
  }
  if (chosen.empty() && !options.allow_no_indices) return ToStatus(IndexNotFound(expression));
  std::vector<IndexData*> out;
  for (const std::string& name : chosen) out.push_back(indices_.at(name).get());
  return out;
}

absl::Status ClusterState::DeleteIndices(const std::string& expression) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  ResolveOptions options;
  ESGW_ASSIGN_OR_RETURN(std::vector<IndexData*> targets, ResolveLocked(expression, options));
  std::vector<std::string> names;
  for (IndexData* index : targets) names.push_back(index->name);
  for (const std::string& name : names) indices_.erase(name);
  return absl::OkStatus();
}

bool ClusterState::IndexExists(const std::string& expression) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  ResolveOptions options;
  options.allow_no_indices = false;
  return ResolveLocked(expression, options).ok();
}

absl::StatusOr<Json> ClusterState::DescribeIndices(const std::string& expression,
                                                   bool mappings_only) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  ESGW_ASSIGN_OR_RETURN(std::vector<IndexData*> targets,
                        ResolveLocked(expression, ResolveOptions()));
  Json out = Json::object();
  for (const IndexData* index : targets) {
    Json entry = Json::object();
    if (!mappings_only) entry["aliases"] = Json::object();
    entry["mappings"] = index->mapping.ToJson();
    if (!mappings_only) {
      Json settings = Json::object();
      Json& index_settings = settings["index"];
      index_settings = Json::object();
      if (const Json* user = Find(index->settings, "index"); user != nullptr && user->is_object()) {
        for (const auto& [key, value] : user->items()) index_settings[key] = value;
      }
      for (const auto& [key, value] : index->settings.items()) {
        if (key != "index") index_settings[key] = value;
      }
      index_settings["number_of_shards"] = "1";
      index_settings["number_of_replicas"] = std::to_string(index->number_of_replicas);
      index_settings["creation_date"] = std::to_string(index->creation_date_millis);
      index_settings["uuid"] = index->uuid;
      index_settings["version"] = {{"created", "8512000"}};
      index_settings["provided_name"] = index->name;
      entry["settings"] = std::move(settings);
    }
    out[index->name] = std::move(entry);
  }
  return out;
}

WriteResult ClusterState::Write(const WriteOp& op, bool forced_refresh, bool bulk_item) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  return WriteLocked(op, forced_refresh, bulk_item);
}

std::vector<WriteResult> ClusterState::WriteBulk(const std::vector<WriteOp>& ops,
                                                 bool forced_refresh) {
  std::vector<WriteResult> results;
  results.reserve(ops.size());
  if (discard_writes_) {
    for (const WriteOp& op : ops) {
      WriteResult& result = results.emplace_back();
      result.status = op.type == WriteOp::Type::kDelete ? 200 : 201;
      result.index = op.index;
      result.id = op.id.empty() ? GenerateId() : op.id;
      result.body = {{"_index", result.index},
                     {"_id", result.id},
                     {"_version", 1},
                     {"result", op.type == WriteOp::Type::kDelete ? "deleted" : "created"},
                     {"_shards", ShardsJson()},
                     {"_seq_no", 0},
                     {"_primary_term", 1}};
    }
    return results;
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (const WriteOp& op : ops) results.push_back(WriteLocked(op, forced_refresh, true));
  return results;
}

WriteResult ClusterState::WriteLocked(const WriteOp& op, bool forced_refresh, bool bulk_item) {
  WriteResult result;
  result.index = op.index;
  result.id = op.id;
  const bool indexing = op.type == WriteOp::Type::kIndex || op.type == WriteOp::Type::kCreate;
  if (result.id.empty() && indexing) result.id = GenerateId();
  const std::string& id = result.id;
  auto fail = [&result](EsError error) {
    result.status = error.status;
    result.error = std::move(error);
    return result;
  };

  if (bulk_item) {
    int every = bulk_reject_every_;
    if (every > 0 && ++bulk_items_seen_ % every == 0) {
      ++bulk_items_rejected_;
      EsError error;
      error.status = 429;
      error.type = "es_rejected_execution_exception";
      error.reason = absl::StrCat(
          "rejected execution of primary operation [shard_id=[", op.index,
          "][0], operation=bulk item] on EsThreadPoolExecutor[name = ", rejecting_node_,
          "/write, queue capacity = 10000, active threads = 2, queued tasks = 10000] "
          "(injected by esgw-devcluster bulk_reject)");
      return fail(std::move(error));
    }
  }

  IndexData* index = nullptr;
  if (op.type == WriteOp::Type::kDelete) {
    auto it = indices_.find(op.index);
    if (it == indices_.end()) return fail(IndexNotFound(op.index));
    index = it->second.get();
  } else {
    absl::StatusOr<IndexData*> created = GetOrCreateLocked(op.index);
    if (!created.ok()) return fail(FromStatus(created.status()));
    index = *created;
  }

  auto existing_it = index->docs.find(id);
  Document* existing = existing_it == index->docs.end() ? nullptr : &existing_it->second;
  const bool exists = existing != nullptr && !existing->deleted;

  if (op.if_seq_no.has_value() || op.if_primary_term.has_value()) {
    int64_t want_seq = op.if_seq_no.value_or(-2);
    int64_t want_term = op.if_primary_term.value_or(0);
    std::string required =
        absl::StrCat("required seqNo [", want_seq, "], primary term [", want_term, "]. ");
    if (!exists) {
      if (op.type == WriteOp::Type::kUpdate) {
        // A missing document is reported as missing, not as a conflict, by the update API.
      } else {
        return fail(ConflictError(*index, id, required + "but no document was found"));
      }
    } else if (existing->seq_no != want_seq || existing->primary_term != want_term) {
      return fail(
          ConflictError(*index, id,
                        absl::StrCat(required, "current document has seqNo [", existing->seq_no,
                                     "] and primary term [", existing->primary_term, "]")));
    }
  }

  // What to store, or a failure.
  std::string new_source;
  Json new_parsed;
  bool noop = false;
  if (indexing) {
    std::optional<Json> parsed = ParseJson(op.source);
    if (!parsed.has_value()) {
      return fail(DocumentParsingError(op.source, "failed to parse: malformed JSON"));
    }
    if (!parsed->is_object()) {
      return fail(DocumentParsingError("", "Malformed content, must start with an object"));
    }
    if (op.type == WriteOp::Type::kCreate && exists) {
      return fail(ConflictError(
          *index, id,
          absl::StrCat("document already exists (current version [", existing->version, "])")));
    }
    new_source = op.source;
    new_parsed = std::move(*parsed);
  } else if (op.type == WriteOp::Type::kUpdate) {
    std::optional<Json> body = ParseJson(op.source);
    if (!body.has_value()) return fail(XContentParseError(op.source));
    if (!body->is_object()) return fail(IllegalArgument("update body must be an object"));
    for (const auto& [key, value] : body->items()) {
      if (key != "doc" && key != "upsert" && key != "doc_as_upsert" && key != "detect_noop" &&
          key != "_source" && key != "script" && key != "scripted_upsert") {
        auto [line, column] = LocateKey(op.source, key);
        return fail(
            ParsingError(absl::StrCat("[UpdateRequest] unknown field [", key, "]"), line, column));
      }
    }
    if (Find(*body, "script") != nullptr) {
      return fail(IllegalArgument("esgw-devcluster does not run scripts in update requests"));
    }
    const Json* doc = Find(*body, "doc");
    if (!exists) {
      const Json* upsert = Find(*body, "upsert");
      if (upsert == nullptr && GetBool(*body, "doc_as_upsert").value_or(false)) upsert = doc;
      if (upsert == nullptr) {
        EsError error;
        error.status = 404;
        error.type = "document_missing_exception";
        error.reason = absl::StrCat("[", id, "]: document missing");
        error.extra["index_uuid"] = index->uuid;
        error.extra["shard"] = "0";
        error.extra["index"] = index->name;
        return fail(std::move(error));
      }
      new_parsed = *upsert;
    } else {
      if (doc == nullptr) return fail(ActionValidation("script or doc is missing"));
      new_parsed = existing->parsed;
      DeepMerge(&new_parsed, *doc);
      noop = GetBool(*body, "detect_noop").value_or(true) && new_parsed == existing->parsed;
    }
    if (!new_parsed.is_object()) return fail(IllegalArgument("update doc must be an object"));
    new_source = Dump(new_parsed);
  }

  if (op.type != WriteOp::Type::kDelete && !noop) {
    if (std::optional<EsError> error = CheckAgainstMapping(index->mapping, new_parsed, "", id)) {
      return fail(std::move(*error));
    }
  }

  Json& body = result.body;
  body = Json::object();
  body["_index"] = index->name;
  body["_id"] = id;
  if (noop) {
    body["_version"] = existing->version;
    body["result"] = "noop";
    body["_shards"] = {{"total", 0}, {"successful", 0}, {"failed", 0}};
    body["_seq_no"] = existing->seq_no;
    body["_primary_term"] = existing->primary_term;
    result.status = 200;
    return result;
  }

  const int64_t version = existing != nullptr ? existing->version + 1 : 1;
  const int64_t seq_no = index->next_seq_no++;
  std::string outcome;
  if (op.type == WriteOp::Type::kDelete) {
    outcome = exists ? "deleted" : "not_found";
    result.status = exists ? 200 : 404;
    if (exists) --index->live_docs;
    Document& tombstone = index->docs[id];
    tombstone.id = id;
    tombstone.version = version;
    tombstone.seq_no = seq_no;
    tombstone.deleted = true;
    tombstone.source.clear();
    tombstone.parsed = Json();
  } else {
    outcome = exists ? "updated" : "created";
    result.status = exists ? 200 : 201;
    if (!exists) ++index->live_docs;
    index->mapping.InferFrom(new_parsed);
    Document& doc = index->docs[id];
    doc.id = id;
    doc.source = std::move(new_source);
    doc.parsed = std::move(new_parsed);
    doc.version = version;
    doc.seq_no = seq_no;
    doc.primary_term = 1;
    doc.deleted = false;
    if (op.type != WriteOp::Type::kUpdate || !op.routing.empty()) doc.routing = op.routing;
  }
  body["_version"] = version;
  body["result"] = outcome;
  if (forced_refresh) body["forced_refresh"] = true;
  body["_shards"] = ShardsJson();
  body["_seq_no"] = seq_no;
  body["_primary_term"] = 1;
  return result;
}

absl::StatusOr<std::pair<int, std::string>> ClusterState::Get(const std::string& index_name,
                                                              const std::string& id,
                                                              const SourceFilter& source) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto index_it = indices_.find(index_name);
  if (index_it == indices_.end()) return ToStatus(IndexNotFound(index_name));
  const IndexData& index = *index_it->second;
  auto it = index.docs.find(id);
  std::string out =
      absl::StrCat("{\"_index\":", Dump(Json(index.name)), ",\"_id\":", Dump(Json(id)));
  if (it == index.docs.end() || it->second.deleted) {
    absl::StrAppend(&out, ",\"found\":false}");
    return std::make_pair(404, std::move(out));
  }
  const Document& doc = it->second;
  absl::StrAppend(&out, ",\"_version\":", doc.version, ",\"_seq_no\":", doc.seq_no,
                  ",\"_primary_term\":", doc.primary_term);
  if (!doc.routing.empty()) absl::StrAppend(&out, ",\"_routing\":", Dump(Json(doc.routing)));
  absl::StrAppend(&out, ",\"found\":true");
  if (source.enabled) {
    absl::StrAppend(&out, ",\"_source\":",
                    source.filtering() ? Dump(FilterSource(doc.parsed, source)) : doc.source);
  }
  out.push_back('}');
  return std::make_pair(200, std::move(out));
}

absl::StatusOr<std::string> ClusterState::Search(const std::string& expression,
                                                 const SearchRequest& request,
                                                 const ResolveOptions& options,
                                                 absl::string_view node_id, absl::Time start) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  ESGW_ASSIGN_OR_RETURN(std::vector<IndexData*> targets, ResolveLocked(expression, options));
  std::vector<const IndexData*> indices(targets.begin(), targets.end());
  return ExecuteSearch(indices, request, node_id, start);
}

absl::StatusOr<std::pair<int64_t, int>> ClusterState::Count(const std::string& expression,
                                                            const Query* query,
                                                            const ResolveOptions& options) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  ESGW_ASSIGN_OR_RETURN(std::vector<IndexData*> targets, ResolveLocked(expression, options));
  std::vector<const IndexData*> indices(targets.begin(), targets.end());
  return std::make_pair(CountMatches(indices, query), static_cast<int>(indices.size()));
}

absl::StatusOr<int> ClusterState::Refresh(const std::string& expression) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  ESGW_ASSIGN_OR_RETURN(std::vector<IndexData*> targets,
                        ResolveLocked(expression, ResolveOptions()));
  return static_cast<int>(targets.size()) * (1 + replicas_);
}

ClusterState::Health ClusterState::GetHealth() {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return Health{static_cast<int>(indices_.size()), replicas_};
}

void ClusterState::SetBulkRejectEvery(int every) {
  bulk_reject_every_ = every < 0 ? 0 : every;
  bulk_items_seen_ = 0;
}

void ClusterState::SetRejectingNodeName(std::string name) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  rejecting_node_ = std::move(name);
}

absl::StatusOr<Json> ClusterState::DescribeDocs(const std::string& index_name) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = indices_.find(index_name);
  if (it == indices_.end()) return ToStatus(IndexNotFound(index_name));
  std::vector<const Document*> docs;
  for (const auto& [id, doc] : it->second->docs) {
    if (!doc.deleted) docs.push_back(&doc);
  }
  std::sort(docs.begin(), docs.end(),
            [](const Document* a, const Document* b) { return a->id < b->id; });
  Json list = Json::array();
  for (const Document* doc : docs) {
    list.push_back({{"_id", doc->id}, {"_version", doc->version}, {"_seq_no", doc->seq_no}});
  }
  Json out = Json::object();
  out["index"] = index_name;
  out["count"] = docs.size();
  out["docs"] = std::move(list);
  return out;
}

void ClusterState::Clear() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  indices_.clear();
}

}  // namespace esgw::devcluster
