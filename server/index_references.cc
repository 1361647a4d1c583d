#include "server/index_references.h"

#include <simdjson.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pool/error_info.h"
#include "pool/status_macros.h"

namespace esgw {
namespace {

namespace dom = simdjson::dom;

constexpr char kTermsLookup[] = "terms lookup";
constexpr char kMoreLikeThis[] = "more_like_this";
constexpr char kPercolate[] = "percolate";
constexpr char kIndexedShape[] = "indexed_shape";
constexpr char kPinned[] = "pinned";
constexpr char kLookupRuntimeField[] = "lookup runtime field";
constexpr char kWrapperQuery[] = "wrapper query";

// The index a geo_shape or shape query's indexed_shape reads when it names none.
constexpr char kDefaultShapeIndex[] = "shapes";

constexpr size_t kMaxPathBytes = 512;

// Bodies up to this size are parsed by the thread's reusable parser, whose buffers grow to the
// largest body it has seen; larger ones get a parser of their own so no thread keeps megabytes.
constexpr size_t kMaxRetainedCapacity = 1 << 20;

// simdjson counts the document itself as a level and leaves an empty innermost container
// uncounted, so its limit N admits N - 1 levels of non-empty containers. The walk enforces the
// exact bound; the parser's, one higher, only stops it building deeper trees.
size_t ParserDepthFor(int levels) { return static_cast<size_t>(levels) + 1; }

simdjson::error_code Parse(dom::parser& parser, absl::string_view json, size_t max_depth,
                           dom::element* root) {
  if (parser.max_depth() != max_depth) {
    // Capacity grows on demand in parse(), which keeps the depth set here.
    const simdjson::error_code error = parser.allocate(std::max<size_t>(json.size(), 1), max_depth);
    if (error != simdjson::SUCCESS) return error;
  }
  // The view has no padding of its own, so parse() copies it into the parser's padded buffer.
  return parser.parse(json.data(), json.size()).get(*root);
}

bool IsContainer(dom::element value) {
  return value.type() == dom::element_type::OBJECT || value.type() == dom::element_type::ARRAY;
}

bool HasMember(const dom::object& object, std::string_view key) {
  for (const dom::key_value_pair member : object) {
    if (member.key == key) return true;
  }
  return false;
}

bool HasStringMember(const dom::object& object, std::string_view key, std::string_view value) {
  for (const dom::key_value_pair member : object) {
    std::string_view text;
    if (member.key == key && member.value.get_string().get(text) == simdjson::SUCCESS &&
        text == value) {
      return true;
    }
  }
  return false;
}

absl::Status TooDeep(absl::string_view field) {
  return InvalidField(field, absl::StrCat("nests objects and arrays deeper than ",
                                          kMaxIndexReferenceDepth, " levels"));
}

// A path for messages, cut at kMaxPathBytes on a UTF-8 boundary and then marked "...": keys are
// the client's, and a deep body with long keys must not cost depth x key length per reference.
class PathText {
 public:
  void AddKey(std::string_view key) {
    if (!text_.empty()) Append(".");
    Append(key);
  }
  void AddPosition(size_t position) { Append(absl::StrCat("[", position, "]")); }
  void AddDecoded() { Append("(decoded)"); }
  bool full() const { return full_; }

  std::string Take() && {
    if (full_) text_.append("...");
    return std::move(text_);
  }

 private:
  void Append(std::string_view piece) {
    if (full_) return;
    const size_t room = kMaxPathBytes - text_.size();
    if (piece.size() <= room) {
      text_.append(piece);
      return;
    }
    size_t cut = room;
    while (cut > 0 && (static_cast<unsigned char>(piece[cut]) & 0xC0) == 0x80) --cut;
    text_.append(piece.substr(0, cut));
    full_ = true;
  }

  std::string text_;
  bool full_ = false;
};

// Walks one body depth-first with an explicit stack of the containers being visited (the current
// one's ancestors), applying the rules in the header at each object. Not thread-safe; one per call.
class ReferenceFinder {
 public:
  explicit ReferenceFinder(absl::string_view field) : field_(field) {}

  // Walks the object root and everything its wrapper queries decode to.
  absl::Status Run(dom::element root);

  std::vector<IndexReference> TakeReferences() && { return std::move(references_); }

 private:
  // How a container is reached from its parent.
  enum class Step { kRoot, kKey, kPosition, kDecoded };

  struct Frame {
    Step step = Step::kRoot;
    // The member key (kKey, kDecoded) or array position (kPosition) it is reached by.
    std::string_view key = {};
    size_t position = 0;
    int depth = 1;
    bool is_object = false;
    // The next children to visit: decoded wrapper queries first, then members or elements.
    std::vector<dom::element> decoded = {};
    size_t next_decoded = 0;
    dom::object::iterator next_member = {};
    dom::object::iterator end_member = {};
    dom::array::iterator next_element = {};
    dom::array::iterator end_element = {};
    size_t next_position = 0;
  };

  // Enters a container: checks its depth and, for an object, applies the rules.
  absl::Status Push(dom::element value, Step step, std::string_view key, size_t position,
                    int depth);
  // The next child container of frame, if any.
  bool NextChild(Frame& frame, dom::element* child, Step* step, std::string_view* key,
                 size_t* position);

  // The member key the innermost frame's object is reached by, or "" (root, array element).
  std::string_view KeyOf(size_t frame) const;
  PathText PathHere() const;

  absl::Status VisitObject(const dom::object& object);
  absl::Status TermsLookups(const dom::object& object);
  absl::Status MoreLikeThisItems(const dom::object& object);
  absl::Status MoreLikeThisItem(const dom::object& item, PathText path);
  absl::Status PercolateIndex(const dom::object& object);
  absl::Status IndexedShape(const dom::object& object);
  absl::Status PinnedDocs(const dom::object& object);
  absl::Status LookupRuntimeField(const dom::object& object);
  absl::Status WrapperQuery(const dom::object& object);

  // Every "<key>" member of object, reported as feature at the current path.
  absl::Status MembersNamed(const dom::object& object, std::string_view key, PathText path,
                            absl::string_view feature);
  // A value naming an index or comma-separated indices; anything but a string is unresolvable.
  absl::Status AddIndexValue(dom::element value, PathText path, absl::string_view feature);
  absl::Status Add(std::string index, std::string path, absl::string_view feature);

  const absl::string_view field_;
  std::vector<Frame> frames_;
  std::vector<IndexReference> references_;
  std::set<std::pair<std::string, std::string>> seen_;
  size_t wrapper_queries_ = 0;
  // Each decoded wrapper query's document lives in its parser until the walk is done.
  std::vector<std::unique_ptr<dom::parser>> wrapper_parsers_;
};

absl::Status ReferenceFinder::Run(dom::element root) {
  ESGW_RETURN_IF_ERROR(Push(root, Step::kRoot, {}, 0, 1));
  while (!frames_.empty()) {
    dom::element child;
    Step step = Step::kRoot;
    std::string_view key;
    size_t position = 0;
    if (!NextChild(frames_.back(), &child, &step, &key, &position)) {
      frames_.pop_back();
      continue;
    }
    ESGW_RETURN_IF_ERROR(Push(child, step, key, position, frames_.back().depth + 1));
  }
  return absl::OkStatus();
}

absl::Status ReferenceFinder::Push(dom::element value, Step step, std::string_view key,
                                   size_t position, int depth) {
  if (depth > kMaxIndexReferenceDepth) return TooDeep(field_);
  Frame frame;
  frame.step = step;
  frame.key = key;
  frame.position = position;
  frame.depth = depth;
  dom::object object;
  dom::array array;
  if (value.get_object().get(object) == simdjson::SUCCESS) {
    frame.is_object = true;
    frame.next_member = object.begin();
    frame.end_member = object.end();
  } else if (value.get_array().get(array) == simdjson::SUCCESS) {
    frame.next_element = array.begin();
    frame.end_element = array.end();
  }
  frames_.push_back(std::move(frame));
  if (!frames_.back().is_object) return absl::OkStatus();
  return VisitObject(object);
}

bool ReferenceFinder::NextChild(Frame& frame, dom::element* child, Step* step,
                                std::string_view* key, size_t* position) {
  if (frame.next_decoded < frame.decoded.size()) {
    *child = frame.decoded[frame.next_decoded++];
    *step = Step::kDecoded;
    *key = "query";
    return true;
  }
  if (frame.is_object) {
    while (frame.next_member != frame.end_member) {
      const dom::key_value_pair member = *frame.next_member;
      ++frame.next_member;
      if (IsContainer(member.value)) {
        *child = member.value;
        *step = Step::kKey;
        *key = member.key;
        return true;
      }
    }
    return false;
  }
  while (frame.next_element != frame.end_element) {
    const dom::element element = *frame.next_element;
    ++frame.next_element;
    const size_t at = frame.next_position++;
    if (IsContainer(element)) {
      *child = element;
      *step = Step::kPosition;
      *position = at;
      return true;
    }
  }
  return false;
}

std::string_view ReferenceFinder::KeyOf(size_t frame) const {
  return frames_[frame].step == Step::kKey ? frames_[frame].key : std::string_view();
}

PathText ReferenceFinder::PathHere() const {
  PathText path;
  for (const Frame& frame : frames_) {
    switch (frame.step) {
      case Step::kRoot:
        break;
      case Step::kKey:
        path.AddKey(frame.key);
        break;
      case Step::kPosition:
        path.AddPosition(frame.position);
        break;
      case Step::kDecoded:
        path.AddKey(frame.key);
        path.AddDecoded();
        break;
    }
    if (path.full()) break;
  }
  return path;
}

// The innermost frame is the object. Its key says which query or clause it is; the rules never
// look at a key named "index" on its own, so fields of that name are never mistaken for one.
absl::Status ReferenceFinder::VisitObject(const dom::object& object) {
  const std::string_view key = KeyOf(frames_.size() - 1);
  if (key == "terms") {
    ESGW_RETURN_IF_ERROR(TermsLookups(object));
  } else if (key == "more_like_this") {
    ESGW_RETURN_IF_ERROR(MoreLikeThisItems(object));
  } else if (key == "percolate") {
    ESGW_RETURN_IF_ERROR(PercolateIndex(object));
  } else if (key == "indexed_shape") {
    ESGW_RETURN_IF_ERROR(IndexedShape(object));
  } else if (key == "pinned") {
    ESGW_RETURN_IF_ERROR(PinnedDocs(object));
  } else if (key == "wrapper") {
    ESGW_RETURN_IF_ERROR(WrapperQuery(object));
  }
  // Runtime fields are named by the client, so this rule goes by the object's own members.
  return LookupRuntimeField(object);
}

// {"terms": {"<field>": {"index": ..., "id": ..., "path": ...}}}. Values given inline are an
// array, so only an object-valued member is a lookup.
absl::Status ReferenceFinder::TermsLookups(const dom::object& object) {
  for (const dom::key_value_pair member : object) {
    dom::object lookup;
    if (member.value.get_object().get(lookup) != simdjson::SUCCESS) continue;
    if (!HasMember(lookup, "id") && !HasMember(lookup, "path")) continue;
    PathText path = PathHere();
    path.AddKey(member.key);
    ESGW_RETURN_IF_ERROR(MembersNamed(lookup, "index", std::move(path), kTermsLookup));
  }
  return absl::OkStatus();
}

// {"more_like_this": {"like": <item or text, or an array of them>, "unlike": ...}}.
absl::Status ReferenceFinder::MoreLikeThisItems(const dom::object& object) {
  for (const dom::key_value_pair member : object) {
    if (member.key != "like" && member.key != "unlike") continue;
    PathText path = PathHere();
    path.AddKey(member.key);
    dom::object item;
    dom::array items;
    if (member.value.get_object().get(item) == simdjson::SUCCESS) {
      ESGW_RETURN_IF_ERROR(MoreLikeThisItem(item, std::move(path)));
    } else if (member.value.get_array().get(items) == simdjson::SUCCESS) {
      size_t position = 0;
      for (const dom::element element : items) {
        if (element.get_object().get(item) == simdjson::SUCCESS) {
          PathText item_path = path;
          item_path.AddPosition(position);
          ESGW_RETURN_IF_ERROR(MoreLikeThisItem(item, std::move(item_path)));
        }
        ++position;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ReferenceFinder::MoreLikeThisItem(const dom::object& item, PathText path) {
  return MembersNamed(item, "_index", std::move(path), kMoreLikeThis);
}

// {"percolate": {"field": ..., "index": ..., "id": ...}}; a percolated "document" names none.
absl::Status ReferenceFinder::PercolateIndex(const dom::object& object) {
  return MembersNamed(object, "index", PathHere(), kPercolate);
}

// {"geo_shape": {"<field>": {"indexed_shape": {"index": ..., "id": ..., "path": ...}}}}.
absl::Status ReferenceFinder::IndexedShape(const dom::object& object) {
  if (HasMember(object, "index")) return MembersNamed(object, "index", PathHere(), kIndexedShape);
  // A shape named by id alone comes from Elasticsearch's default shape index.
  if (!HasMember(object, "id")) return absl::OkStatus();
  return Add(kDefaultShapeIndex, PathHere().Take(), kIndexedShape);
}

// {"pinned": {"docs": [{"_index": ..., "_id": ...}], "organic": ...}}.
absl::Status ReferenceFinder::PinnedDocs(const dom::object& object) {
  for (const dom::key_value_pair member : object) {
    if (member.key != "docs") continue;
    PathText path = PathHere();
    path.AddKey(member.key);
    dom::object doc;
    dom::array docs;
    if (member.value.get_object().get(doc) == simdjson::SUCCESS) {
      ESGW_RETURN_IF_ERROR(MembersNamed(doc, "_index", std::move(path), kPinned));
    } else if (member.value.get_array().get(docs) == simdjson::SUCCESS) {
      size_t position = 0;
      for (const dom::element element : docs) {
        if (element.get_object().get(doc) == simdjson::SUCCESS) {
          PathText doc_path = path;
          doc_path.AddPosition(position);
          ESGW_RETURN_IF_ERROR(MembersNamed(doc, "_index", std::move(doc_path), kPinned));
        }
        ++position;
      }
    }
  }
  return absl::OkStatus();
}

// {"runtime_mappings": {"<name>": {"type": "lookup", "target_index": ..., ...}}}. Elasticsearch
// rejects target_index on any other type, and the type check spares a term query on a field that
// happens to be called target_index.
absl::Status ReferenceFinder::LookupRuntimeField(const dom::object& object) {
  if (!HasMember(object, "target_index")) return absl::OkStatus();
  const bool in_runtime_mappings =
      frames_.size() >= 2 && KeyOf(frames_.size() - 2) == "runtime_mappings";
  if (!in_runtime_mappings && !HasStringMember(object, "type", "lookup")) {
    return absl::OkStatus();
  }
  return MembersNamed(object, "target_index", PathHere(), kLookupRuntimeField);
}

// {"wrapper": {"query": "<base64 of a query>"}}. Elasticsearch refuses a wrapper with any other
// member, so an object that has one is a field named "wrapper" (e.g. a match query's options).
absl::Status ReferenceFinder::WrapperQuery(const dom::object& object) {
  bool any = false;
  for (const dom::key_value_pair member : object) {
    if (member.key != "query") return absl::OkStatus();
    any = true;
  }
  if (!any) return absl::OkStatus();
  const int depth = frames_.back().depth;
  for (const dom::key_value_pair member : object) {
    if (++wrapper_queries_ > kMaxWrapperQueries) {
      return InvalidField(field_,
                          absl::StrCat("has more than ", kMaxWrapperQueries, " wrapper queries"));
    }
    PathText path = PathHere();
    path.AddKey(member.key);
    std::string_view encoded;
    std::string decoded;
    if (member.value.get_string().get(encoded) != simdjson::SUCCESS ||
        !absl::Base64Unescape(absl::string_view(encoded.data(), encoded.size()), &decoded)) {
      ESGW_RETURN_IF_ERROR(Add("", std::move(path).Take(), kWrapperQuery));
      continue;
    }
    // The decoded query sits one level below the wrapper object.
    if (depth >= kMaxIndexReferenceDepth) return TooDeep(field_);
    auto parser = std::make_unique<dom::parser>();
    dom::element root;
    const simdjson::error_code error =
        Parse(*parser, decoded, ParserDepthFor(kMaxIndexReferenceDepth - depth), &root);
    if (error == simdjson::DEPTH_ERROR) return TooDeep(field_);
    if (error != simdjson::SUCCESS) {
      ESGW_RETURN_IF_ERROR(Add("", std::move(path).Take(), kWrapperQuery));
      continue;
    }
    wrapper_parsers_.push_back(std::move(parser));
    // Elasticsearch only takes an object here; anything else fails there and names nothing.
    if (IsContainer(root)) frames_.back().decoded.push_back(root);
  }
  return absl::OkStatus();
}

absl::Status ReferenceFinder::MembersNamed(const dom::object& object, std::string_view key,
                                           PathText path, absl::string_view feature) {
  for (const dom::key_value_pair member : object) {
    if (member.key != key) continue;
    PathText member_path = path;
    member_path.AddKey(member.key);
    ESGW_RETURN_IF_ERROR(AddIndexValue(member.value, std::move(member_path), feature));
  }
  return absl::OkStatus();
}

absl::Status ReferenceFinder::AddIndexValue(dom::element value, PathText path,
                                            absl::string_view feature) {
  std::string where = std::move(path).Take();
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return Add("", std::move(where), feature);
  for (const absl::string_view name :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    ESGW_RETURN_IF_ERROR(Add(std::string(name), where, feature));
  }
  return absl::OkStatus();
}

absl::Status ReferenceFinder::Add(std::string index, std::string path, absl::string_view feature) {
  // One place can match two rules, e.g. a terms lookup on a field named "percolate".
  if (!seen_.emplace(path, index).second) return absl::OkStatus();
  if (references_.size() >= kMaxIndexReferences) {
    return InvalidField(
        field_, absl::StrCat("names more than ", kMaxIndexReferences, " indices through lookups"));
  }
  references_.push_back(IndexReference{
      .index = std::move(index), .path = std::move(path), .feature = std::string(feature)});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<IndexReference>> FindIndexReferences(absl::string_view body_json,
                                                                absl::string_view field) {
  if (body_json.empty()) return std::vector<IndexReference>();
  thread_local dom::parser thread_parser;
  dom::parser own_parser;
  dom::parser& parser = body_json.size() <= kMaxRetainedCapacity ? thread_parser : own_parser;
  dom::element root;
  const simdjson::error_code error =
      Parse(parser, body_json, ParserDepthFor(kMaxIndexReferenceDepth), &root);
  if (error == simdjson::DEPTH_ERROR) return TooDeep(field);
  if (error != simdjson::SUCCESS) {
    return InvalidField(field,
                        absl::StrCat("must be valid JSON: ", simdjson::error_message(error)));
  }
  if (root.type() != dom::element_type::OBJECT) {
    return InvalidField(field, "must be a JSON object");
  }
  ReferenceFinder finder(field);
  ESGW_RETURN_IF_ERROR(finder.Run(root));
  return std::move(finder).TakeReferences();
}

}  // namespace esgw
