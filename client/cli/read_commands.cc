// esgw-cli search, count and get.
#include <simdjson.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/cli.h"
#include "client/cli/json_text.h"
#include "client/cli/views.h"
#include "pool/utf8.h"

namespace esgw::cli {
namespace {

constexpr CommandHelp kSearchHelp = {
    "search", "run a search and show the hits", "[flags] [QUERY | @FILE | -]",
    "QUERY is the search body as JSON (query, size, from, sort, aggs, ...), given as an\n"
    "argument, read from a file (@FILE or --query_file=FILE) or from stdin (-). Without one,\n"
    "every document matches. Hits are shown as a table that fits the terminal: the id, the\n"
    "score or sort values, and the source (or the --fields you name); aggregations follow.\n"
    "--json prints the whole SearchResponse as JSON instead, for scripts.",
    "  # Lamps, best match first\n"
    "  esgw-cli search --index=products '{\"query\":{\"match\":{\"name\":\"lamp\"}}}'\n"
    "  # Three cheapest products, showing two fields\n"
    "  esgw-cli search --index=products --size=3 --fields=name,price \\\n"
    "      '{\"sort\":[{\"price\":\"asc\"}]}'\n"
    "  # Body from a file; the raw response for jq\n"
    "  esgw-cli search --index='logs*' --json @query.json | jq '.hits[].id'\n"
    "  # Body from stdin\n"
    "  echo '{\"query\":{\"term\":{\"level\":\"error\"}}}' | esgw-cli search --index=logs -\n"};

constexpr CommandHelp kCountHelp = {
    "count", "count the documents that match a query", "[flags] [QUERY | @FILE | -]",
    "QUERY is a body with a \"query\" object, as an argument, @FILE, --query_file or stdin\n"
    "(-); without one every document counts. Prints the count alone, so that scripts can use\n"
    "it as it is.",
    "  esgw-cli count --index=logs\n"
    "  esgw-cli count --index=logs '{\"query\":{\"term\":{\"level\":\"error\"}}}'\n"
    "  n=$(esgw-cli count --index=products @in-stock.json)\n"};

constexpr CommandHelp kGetHelp = {
    "get", "fetch one document by index and id", "[flags] INDEX ID",
    "Prints the document's index, id, version and sequence numbers, then its source,\n"
    "indented. --source prints the source alone, exactly as stored. A missing document is\n"
    "reported on stderr with exit code 1 (a missing index is an RPC error, NOT_FOUND).",
    "  esgw-cli get products 7\n"
    "  esgw-cli get --source products 7 | jq .price\n"
    "  esgw-cli get --routing=user-12 orders 2024-0001\n"};

// The body from the QUERY argument or --query_file: "" (match all) or a JSON object.
absl::StatusOr<std::string> QueryBody(const std::vector<std::string>& positional,
                                      const std::string& query_file) {
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("expected at most one QUERY argument, got ",
                                                   positional.size(),
                                                   " (quote the JSON body: '{\"query\":{...}}')"));
  }
  if (!positional.empty() && !query_file.empty()) {
    return absl::InvalidArgumentError(
        "--query_file: give the query as an argument or with --query_file, not both");
  }
  std::string body;
  std::string what = "QUERY";
  if (!query_file.empty() ||
      (!positional.empty() && (positional[0] == "-" || absl::StartsWith(positional[0], "@")))) {
    const std::string path = !query_file.empty()    ? query_file
                             : positional[0] == "-" ? "-"
                                                    : positional[0].substr(1);
    what = path == "-" ? "the query on stdin" : absl::StrCat("the query in \"", path, "\"");
    absl::StatusOr<std::string> text = ReadInput(path);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(query_file.empty() ? "QUERY" : "--query_file",
                                                     ": ", text.status().message()));
    }
    body = *std::move(text);
  } else if (!positional.empty()) {
    body = positional[0];
  }
  if (absl::StripAsciiWhitespace(body).empty()) return std::string();
  if (absl::Status status = CheckJsonObject(body); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what,
        " must be a JSON object such as '{\"query\":{\"match_all\":{}}}': ", status.message()));
  }
  return body;
}

// Adds "key": value to the top level of a JSON object body ("" counts as {}), unless the body
// sets key already: INVALID_ARGUMENT naming the flag then.
absl::Status SetTopLevel(std::string& body, const std::string& key, int64_t value) {
  if (body.empty()) body = "{}";
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body).get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat("--", key, ": the body is not a JSON object"));
  }
  simdjson::dom::element existing;
  if (object.at_key(key).get(existing) == simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", key, ": the query sets \"", key, "\" already; give it in one place"));
  }
  const size_t open = body.find('{');
  const bool empty = object.size() == 0;
  body.insert(open + 1, absl::StrCat("\"", key, "\":", value, empty ? "" : ","));
  return absl::OkStatus();
}

}  // namespace

int RunSearch(Cli& cli, const std::vector<std::string>& args) {
  std::vector<std::string> indices;
  std::string query_file;
  int64_t size = 10;
  int64_t from = 0;
  std::vector<std::string> fields;
  std::string routing;
  std::string preference;
  std::vector<std::string> params;
  bool json = false;
  FlagSet flags;
  flags.AddList("index", &indices, "NAMES",
                "indices, aliases or patterns to search, comma-separated (default: all)");
  flags.AddString("query_file", &query_file, "FILE", "read the body from FILE (- for stdin)");
  flags.AddInt("size", &size, 0, 10000, "N", "hits to return (default: the body's, else 10)");
  flags.AddInt("from", &from, 0, 1000000, "N", "hits to skip (default: the body's, else 0)");
  flags.AddList("fields", &fields, "F1,F2",
                "show these source fields (dotted paths) as columns instead of the source");
  flags.AddString("routing", &routing, "VALUE", "search the shards of this routing value");
  flags.AddString("preference", &preference, "VALUE", "shard copy preference, e.g. _local");
  flags.AddList("param", &params, "KEY=VALUE",
                "extra URL parameter (repeatable), e.g. track_total_hits=true");
  flags.AddBool("json", &json, "print the SearchResponse as JSON");
  cli.AddConnectionFlags(flags);
  std::vector<std::string> positional;
  if (absl::Status status = flags.Parse(args, &positional); !status.ok()) {
    return cli.Usage(kSearchHelp, status);
  }
  if (flags.help()) return cli.Help(kSearchHelp, flags);
  absl::StatusOr<std::string> body = QueryBody(positional, query_file);
  if (!body.ok()) return cli.Usage(kSearchHelp, body.status());
  if (flags.IsSet("size")) {
    if (absl::Status status = SetTopLevel(*body, "size", size); !status.ok()) {
      return cli.Usage(kSearchHelp, status);
    }
  }
  if (flags.IsSet("from")) {
    if (absl::Status status = SetTopLevel(*body, "from", from); !status.ok()) {
      return cli.Usage(kSearchHelp, status);
    }
  }
  v1::SearchRequest request;
  for (const std::string& index : indices) request.add_indices(index);
  if (!body->empty()) request.set_body_json(*body);
  request.set_routing(routing);
  request.set_preference(preference);
  for (const std::string& param : params) {
    const size_t eq = param.find('=');
    if (eq == std::string::npos || eq == 0) {
      return cli.Usage(kSearchHelp,
                       absl::StrCat("--param: must be KEY=VALUE; got \"", param, "\""));
    }
    (*request.mutable_params())[param.substr(0, eq)] = param.substr(eq + 1);
  }
  std::unique_ptr<client::Client> client = cli.Connect(kSearchHelp);
  if (client == nullptr) return kExitUsage;
  absl::StatusOr<v1::SearchResponse> response = client->Search(request, {.cancel = &cli.cancel()});
  if (!response.ok()) return cli.RpcError(response.status());
  if (json) {
    cli.PrintJson(*response);
  } else {
    std::fputs(SearchText(*response, fields, cli.TableOptions()).c_str(), cli.out());
  }
  return kExitOk;
}

int RunCount(Cli& cli, const std::vector<std::string>& args) {
  std::vector<std::string> indices;
  std::string query_file;
  std::string routing;
  bool json = false;
  FlagSet flags;
  flags.AddList("index", &indices, "NAMES",
                "indices, aliases or patterns, comma-separated (default: all)");
  flags.AddString("query_file", &query_file, "FILE", "read the body from FILE (- for stdin)");
  flags.AddString("routing", &routing, "VALUE", "count the shards of this routing value");
  flags.AddBool("json", &json, "print the CountResponse as JSON");
  cli.AddConnectionFlags(flags);
  std::vector<std::string> positional;
  if (absl::Status status = flags.Parse(args, &positional); !status.ok()) {
    return cli.Usage(kCountHelp, status);
  }
  if (flags.help()) return cli.Help(kCountHelp, flags);
  absl::StatusOr<std::string> body = QueryBody(positional, query_file);
  if (!body.ok()) return cli.Usage(kCountHelp, body.status());
  v1::CountRequest request;
  for (const std::string& index : indices) request.add_indices(index);
  if (!body->empty()) request.set_body_json(*body);
  request.set_routing(routing);
  std::unique_ptr<client::Client> client = cli.Connect(kCountHelp);
  if (client == nullptr) return kExitUsage;
  absl::StatusOr<v1::CountResponse> response = client->Count(request, {.cancel = &cli.cancel()});
  if (!response.ok()) return cli.RpcError(response.status());
  if (json) {
    cli.PrintJson(*response);
  } else {
    std::fprintf(cli.out(), "%lld\n", static_cast<long long>(response->count()));
  }
  return kExitOk;
}

int RunGet(Cli& cli, const std::vector<std::string>& args) {
  std::string routing;
  std::string preference;
  bool refresh = false;
  bool source = false;
  bool json = false;
  FlagSet flags;
  flags.AddString("routing", &routing, "VALUE", "routing value the document was indexed with");
  flags.AddString("preference", &preference, "VALUE", "shard copy preference");
  flags.AddBool("refresh", &refresh, "refresh the shard before reading");
  flags.AddBool("source", &source, "print only the document's source, exactly as stored");
  flags.AddBool("json", &json, "print the GetResponse as JSON");
  cli.AddConnectionFlags(flags);
  std::vector<std::string> positional;
  if (absl::Status status = flags.Parse(args, &positional); !status.ok()) {
    return cli.Usage(kGetHelp, status);
  }
  if (flags.help()) return cli.Help(kGetHelp, flags);
  if (positional.size() != 2) {
    return cli.Usage(kGetHelp, absl::StrCat("expected INDEX and ID, got ", positional.size(),
                                            positional.size() == 1 ? " argument" : " arguments"));
  }
  if (source && json) return cli.Usage(kGetHelp, "--source: give --source or --json, not both");
  v1::GetRequest request;
  request.set_index(positional[0]);
  request.set_id(positional[1]);
  request.set_routing(routing);
  request.set_preference(preference);
  request.set_refresh(refresh);
  std::unique_ptr<client::Client> client = cli.Connect(kGetHelp);
  if (client == nullptr) return kExitUsage;
  absl::StatusOr<v1::GetResponse> response = client->Get(request, {.cancel = &cli.cancel()});
  if (!response.ok()) return cli.RpcError(response.status());
  if (json) {
    cli.PrintJson(*response);
  } else if (response->found()) {
    if (source) {
      std::fprintf(cli.out(), "%s\n", response->source_json().c_str());
    } else {
      const TerminalInfo& terminal = cli.out_terminal();
      std::fputs(
          DocumentText(*response, terminal.tty ? terminal.width : 80, terminal.unicode).c_str(),
          cli.out());
    }
  }
  if (!response->found()) {
    std::fprintf(cli.err(), "not found: no document %s in index %s\n",
                 JsonQuote(positional[1]).c_str(), positional[0].c_str());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace esgw::cli
