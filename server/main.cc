// esgw-server: reads flags (and ESGW_* environment variables), starts the gateway and stops it
// cleanly on SIGTERM or SIGINT. The only place that reads flags.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/credentials.h"
#include "pool/log.h"
#include "pool/utf8.h"
#include "server/config_file.h"
#include "server/cpu_budget.h"
#include "server/esgw_server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051",
          "gRPC listen address, host:port; port 0 picks a free port");
ABSL_FLAG(std::string, es_nodes, "http://127.0.0.1:9200",
          "comma-separated Elasticsearch seed URLs (http or https)");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(1),
          "TCP (and TLS) connect timeout to an Elasticsearch node");
ABSL_FLAG(int, max_connections_per_node, 64,
          "keep-alive HTTP connections to one Elasticsearch node at most");
ABSL_FLAG(int, transport_threads, 0,
          "HTTP event-loop threads; 0 is one per CPU this process may use (its affinity and "
          "cgroup CPU limit), at most 8");
ABSL_FLAG(std::string, es_ca_file, "", "PEM CA file for https nodes; empty uses the system store");
ABSL_FLAG(std::string, es_client_cert_file, "",
          "PEM client certificate for https nodes (the key may be in the same file)");
ABSL_FLAG(std::string, es_client_key_file, "", "unencrypted PEM key for --es_client_cert_file");
ABSL_FLAG(bool, es_verify_hostname, true,
          "check that a node's certificate names the host dialled (the chain is always checked)");
ABSL_FLAG(bool, es_insecure_skip_verify, false,
          "INSECURE: accept any node certificate; for local trials only");
ABSL_FLAG(std::string, es_username, "",
          "basic-auth user; the password comes from --es_password_file or env ESGW_ES_PASSWORD");
ABSL_FLAG(std::string, es_password_file, "",
          "file holding the Elasticsearch password (one trailing newline ignored)");
ABSL_FLAG(std::string, es_api_key_file, "",
          "file holding an Elasticsearch API key (encoded, or id:key); or env ESGW_ES_API_KEY");
ABSL_FLAG(int64_t, gzip_min_bytes, 65536,
          "gzip request bodies of at least this many bytes; 0 never compresses");
ABSL_FLAG(std::string, pool_mode, "sniffing",
          "static_no_ping (seed list, no probes), static (seed list, background probes), "
          "sniffing (static plus node discovery) or simple (no liveness at all; debugging)");
ABSL_FLAG(std::string, selector, "least_loaded",
          "least_loaded (power of two choices over in-flight x latency), round_robin, sticky or "
          "random");
ABSL_FLAG(std::string, sniff_mode, "seeds_plus_sniffed",
          "with --pool_mode=sniffing: seeds_plus_sniffed, sniffed_only or off");
ABSL_FLAG(bool, sniff_on_start, true, "sniff the cluster when esgw starts");
ABSL_FLAG(absl::Duration, sniff_interval, absl::Minutes(5),
          "sniff this often (+-10% jitter); 0 turns periodic sniffing off");
ABSL_FLAG(bool, sniff_use_hostname, false,
          "dial the host name rather than the IP of a 'host/ip:port' publish_address");
ABSL_FLAG(absl::Duration, dead_timeout, absl::Seconds(1),
          "how long a node stays dead after its first failure; doubles per failure in a row");
ABSL_FLAG(absl::Duration, max_dead_timeout, absl::Seconds(60), "cap of --dead_timeout's doubling");
ABSL_FLAG(int, soft_failure_threshold, 3,
          "soft failures in a row (reset, timeout, 502-504) that eject a node");
ABSL_FLAG(int, max_retries, 3, "retries of one request at most, on top of the first attempt");
ABSL_FLAG(absl::Duration, attempt_timeout, absl::ZeroDuration(),
          "each attempt of an idempotent request (reads, bulks whose ops all carry ids) gets at "
          "most this long; one that runs out counts against its node and is retried on another "
          "while the deadline allows (a hung node then costs time, not the call); 0 gives each "
          "attempt all the time left");
ABSL_FLAG(absl::Duration, probe_timeout, absl::Seconds(1),
          "timeout of the background probe (GET /) that brings a dead node back");
ABSL_FLAG(absl::Duration, request_timeout, absl::Seconds(30),
          "budget for a call whose client set no gRPC deadline, and for each _bulk batch of an "
          "Ingest stream");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "on SIGTERM, how long in-flight calls may take to finish before they are cancelled");
ABSL_FLAG(absl::Duration, shutdown_delay, absl::ZeroDuration(),
          "on SIGTERM, keep serving this long after health turns NOT_SERVING, so that load "
          "balancers (a Kubernetes endpoint) stop sending calls before the listener closes; "
          "--shutdown_grace counts after it");
ABSL_FLAG(std::string, metrics_listen, "",
          "Prometheus text exposition on http://<this>/metrics, host:port (e.g. :9464); empty "
          "turns it off");
ABSL_FLAG(absl::Duration, cluster_health_cache, absl::Seconds(5),
          "Admin.GetHealth fetches Elasticsearch's _cluster/health at most this often");
ABSL_FLAG(absl::Duration, keepalive_time, absl::Seconds(60),
          "ping an idle gRPC client connection this often (HTTP/2 keepalive)");
ABSL_FLAG(absl::Duration, keepalive_timeout, absl::Seconds(20),
          "close a gRPC client connection whose keepalive ping is not answered within this");
ABSL_FLAG(absl::Duration, keepalive_min_client_interval, absl::Seconds(10),
          "clients may send keepalive pings this often (more often is answered with GOAWAY)");
ABSL_FLAG(absl::Duration, max_connection_age, absl::Minutes(5),
          "close gRPC client connections after this long (+-10%) so clients rebalance across "
          "replicas; 0 keeps them");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::ZeroDuration(),
          "calls running when a connection reaches --max_connection_age get this long to "
          "finish; 0 lets them run to their end");
ABSL_FLAG(std::string, port_file, "",
          "when set, the bound gRPC port is written to this file once serving, and the /metrics "
          "port on a second line when metrics are on (for tests and scripts that start the "
          "server on port 0)");
ABSL_FLAG(int64_t, bulk_max_bytes, 5 << 20,
          "Bulk and Ingest: largest _bulk request body in bytes (an op larger goes alone)");
ABSL_FLAG(int, bulk_max_ops, 1000, "Bulk and Ingest: most operations in one _bulk request");
ABSL_FLAG(absl::Duration, bulk_retry_initial, absl::Milliseconds(100),
          "first backoff before resending bulk items rejected for load (429); doubles each time");
ABSL_FLAG(absl::Duration, bulk_retry_max, absl::Seconds(5),
          "cap of --bulk_retry_initial's doubling");
ABSL_FLAG(absl::Duration, ingest_flush_interval, absl::Milliseconds(100),
          "Ingest: a batch that is not full goes when its oldest op has waited this long");
ABSL_FLAG(int, ingest_max_concurrent_batches, 4,
          "Ingest: _bulk requests of one stream in flight at once (1-64)");
ABSL_FLAG(absl::Duration, ingest_idle_timeout, absl::Minutes(5),
          "Ingest: end a stream (UNAVAILABLE) that has sent no message for this long and has no "
          "op in progress, so that it gives back its place under "
          "--max_ingest_streams_per_principal; 0 keeps idle streams open");
ABSL_FLAG(int64_t, ingest_max_buffer_bytes, 32 << 20,
          "Ingest: bytes of ops one stream may hold before esgw stops reading from it "
          "(at least --bulk_max_bytes)");
ABSL_FLAG(std::string, es_opaque_id, "per_request",
          "X-Opaque-Id sent to Elasticsearch when the client's metadata has none: per_request (a "
          "fresh id, also returned in the x-opaque-id response header), none, or a fixed value");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain for gRPC over TLS (with --tls_key); empty serves plaintext");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: clients must present a certificate it signed (mutual TLS)");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Minutes(1),
          "re-read --tls_cert, --tls_key and --tls_client_ca this often; new connections use "
          "the new files, no restart needed");
ABSL_FLAG(std::string, auth_file, "",
          "YAML file of principals: token_sha256 or client_cert_subject, permissions (read, "
          "write, admin) and index patterns; empty means open access (a warning is logged)");
ABSL_FLAG(int, max_concurrent_rpcs_per_principal, 1024,
          "calls one principal may have running at once (under open access: all callers)");
ABSL_FLAG(int, max_ingest_streams_per_principal, 64,
          "Ingest streams one principal may have open at once (under open access: all callers)");
ABSL_FLAG(int64_t, max_read_request_bytes, 4 << 20,
          "largest Search, MultiSearch, Count or Get request, in bytes");
ABSL_FLAG(int64_t, max_bulk_request_bytes, 64 << 20,
          "largest Bulk request, or Ingest message, in bytes");
ABSL_FLAG(int64_t, max_response_bytes, int64_t{100} << 20,
          "largest Elasticsearch response body esgw reads, in bytes (after gzip is undone); a "
          "larger one fails the call with RESOURCE_EXHAUSTED and blames no node");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::string, log_format, "text", "text or json");

ABSL_FLAG(std::string, config, "",
          "YAML or JSON file of flag values (flag_name: value); environment variables and "
          "command-line flags override it. Also from env ESGW_CONFIG");
ABSL_FLAG(bool, print_config, false,
          "print the effective configuration (YAML, each value with where it came from; "
          "secrets redacted) and exit");

namespace {

// --transport_threads=0: a loop per usable CPU, at most 8 (past that, connections per loop
// thin out faster than loops add throughput).
int DefaultTransportThreads() { return std::clamp(esgw::UsableCpus(), 1, 8); }

using FlagMap = std::map<std::string, absl::CommandLineFlag*>;

// The flags this program defines, by name: the ones a config file and ESGW_* may set (config
// and print_config excepted for the file). absl's own flags (--help, --flagfile ...) are not.
FlagMap OwnFlags() {
  FlagMap flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), "server/main.cc")) flags[std::string(name)] = flag;
  }
  return flags;
}

std::string EnvName(absl::string_view flag) {
  return absl::StrCat("ESGW_", absl::AsciiStrToUpper(flag));
}

// Where each flag's value came from, for --print_config; flags not listed have their default
// or a command-line value.
using Sources = std::map<std::string, std::string>;

// --config=path or --config path on the command line, else env ESGW_CONFIG, else "".
std::string ConfigPath(int argc, char** argv) {
  std::string path;
  if (const char* env = std::getenv("ESGW_CONFIG"); env != nullptr) path = env;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    for (absl::string_view prefix : {"--config=", "-config="}) {
      if (absl::StartsWith(arg, prefix)) path = std::string(arg.substr(prefix.size()));
    }
    if ((arg == "--config" || arg == "-config") && i + 1 < argc) path = argv[i + 1];
  }
  return path;
}

// Sets flags from the config file. Returns false (having printed why) when the file cannot be
// read, names an unknown key, or holds a value its flag does not accept.
bool ApplyConfigFile(const std::string& path, const FlagMap& flags, Sources* sources) {
  std::vector<std::string> names;
  for (const auto& [name, flag] : flags) {
    if (name != "config" && name != "print_config") names.push_back(name);
  }
  auto entries = esgw::LoadConfigFile(
      path,
      [&names](absl::string_view key) {
        return std::binary_search(names.begin(), names.end(), std::string(key));
      },
      names);
  if (!entries.ok()) {
    std::fprintf(stderr, "esgw-server: --config: %s\n",
                 std::string(entries.status().message()).c_str());
    return false;
  }
  for (const esgw::ConfigEntry& entry : *entries) {
    std::string error;
    if (!flags.at(entry.key)->ParseFrom(entry.value, &error)) {
      std::fprintf(stderr, "esgw-server: --config: %s:%d: key '%s': %s\n", path.c_str(), entry.line,
                   entry.key.c_str(), error.c_str());
      return false;
    }
    (*sources)[entry.key] = absl::StrCat(path, ":", entry.line);
  }
  return true;
}

// Flags may also come from ESGW_<UPPER_NAME>, over the config file. Returns false (having
// printed why) when a variable does not parse.
bool ApplyEnvironment(const FlagMap& flags, Sources* sources) {
  for (const auto& [name, flag] : flags) {
    const std::string env = EnvName(name);
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "esgw-server: %s: %s\n", env.c_str(), error.c_str());
      return false;
    }
    (*sources)[name] = absl::StrCat("env ", env);
  }
  return true;
}

// A value as --print_config shows it: secrets (a flag named like one, a password in a URL)
// replaced by <redacted>.
std::string Redacted(const std::string& name, std::string value) {
  const bool secret_name =
      !absl::EndsWith(name, "_file") &&
      (absl::StrContains(name, "password") || absl::StrContains(name, "secret") ||
       absl::StrContains(name, "token") || absl::StrContains(name, "api_key"));
  if (secret_name && !value.empty()) return "<redacted>";
  // scheme://user:password@host -> scheme://user:<redacted>@host, for every URL in a list.
  size_t at = 0;
  while ((at = value.find("://", at)) != std::string::npos) {
    const size_t start = at + 3;
    const size_t end = value.find_first_of("/,", start);
    const size_t userinfo_end = value.rfind('@', end == std::string::npos ? value.size() : end);
    if (userinfo_end != std::string::npos && userinfo_end > start) {
      const size_t colon = value.find(':', start);
      if (colon != std::string::npos && colon < userinfo_end) {
        value.replace(colon + 1, userinfo_end - colon - 1, "<redacted>");
      }
    }
    at = start;
  }
  return value;
}

// Prints a start-up error. When it names a flag (as "--name..." or "name: ...") whose value came
// from the config file or the environment, says where, since the operator may not be looking
// at the command line at all.
void StartupError(const Sources& sources, const std::string& message) {
  absl::string_view rest = message;
  absl::ConsumePrefix(&rest, "--");
  const std::string name(rest.substr(0, rest.find_first_of(": ")));
  const auto it = sources.find(name);
  if (it == sources.end() || it->second == "flag") {
    std::fprintf(stderr, "esgw-server: %s\n", message.c_str());
  } else {
    std::fprintf(stderr, "esgw-server: %s (%s from %s)\n", message.c_str(), name.c_str(),
                 it->second.c_str());
  }
}

// Marks the flags named on the command line (--name, --name=value, -name, --noname for a bool)
// as coming from there.
void NoteCommandLine(int argc, char** argv, const FlagMap& flags, Sources* sources) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "-")) continue;
    absl::ConsumePrefix(&arg, "-");
    std::string name(arg.substr(0, arg.find('=')));
    if (!flags.contains(name) && absl::StartsWith(name, "no")) name = name.substr(2);
    if (flags.contains(name)) (*sources)[name] = "flag";
  }
}

// YAML a config file accepts back: every flag, double-quoted, with its source as a comment.
void PrintConfig(const FlagMap& flags, const Sources& sources) {
  std::printf("# esgw-server effective configuration; precedence: flag > env > file > default\n");
  for (const auto& [name, flag] : flags) {
    if (name == "config" || name == "print_config") continue;
    const auto it = sources.find(name);
    const std::string source = it != sources.end() ? it->second : "default";
    // A JSON string is a YAML double-quoted scalar.
    std::printf("%s: %s  # %s\n", name.c_str(),
                esgw::JsonQuote(Redacted(name, flag->CurrentValue())).c_str(), source.c_str());
  }
  for (const char* env : {"ESGW_ES_PASSWORD", "ESGW_ES_API_KEY"}) {
    if (std::getenv(env) != nullptr) std::printf("# %s is set (<redacted>)\n", env);
  }
}

bool WritePortFile(const std::string& path, int port, int metrics_port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (metrics_port != 0) out << metrics_port << "\n";
    if (!out) return false;
  }
  // Rename, so a reader never sees a half-written file.
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "esgw-server: a gRPC gateway in front of Elasticsearch.\n"
      "Every flag can also be set as an environment variable ESGW_<FLAG_NAME_IN_CAPITALS>\n"
      "and in a YAML or JSON --config file (flag_name: value); a flag on the command line\n"
      "beats the environment, which beats the file. --print_config shows the result.\n"
      "Example: esgw-server --listen=0.0.0.0:50051 --es_nodes=http://es-0:9200,http://es-1:9200");
  // Debian's abseil checks every Mutex acquisition for lock-order cycles (about 1 % of the
  // transport thread's time in a profile); the test builds keep that check, the server skips it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // flag > env > file > default: the file first, then the environment, then the command line,
  // each overriding what came before.
  const FlagMap flags = OwnFlags();
  Sources sources;
  if (const std::string config = ConfigPath(argc, argv);
      !config.empty() && !ApplyConfigFile(config, flags, &sources)) {
    return 2;
  }
  if (!ApplyEnvironment(flags, &sources)) return 2;
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "esgw-server: unexpected argument '%s' (flags look like --name=value)\n",
                 positional[1]);
    return 2;
  }
  if (absl::GetFlag(FLAGS_print_config)) {
    NoteCommandLine(argc, argv, flags, &sources);
    PrintConfig(flags, sources);
    return 0;
  }

  esgw::LogLevel level;
  if (!esgw::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    StartupError(sources, "--log_level must be debug, info, warning or error");
    return 2;
  }
  esgw::SetLogLevel(level);
  const std::string log_format = absl::GetFlag(FLAGS_log_format);
  if (log_format != "text" && log_format != "json") {
    StartupError(sources, "--log_format must be text or json");
    return 2;
  }
  esgw::SetLogJson(log_format == "json");

  esgw::EsgwServer::Options options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.es_nodes.clear();
  for (absl::string_view url :
       absl::StrSplit(absl::GetFlag(FLAGS_es_nodes), ',', absl::SkipWhitespace())) {
    options.es_nodes.emplace_back(absl::StripAsciiWhitespace(url));
  }
  options.transport.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.transport.max_connections_per_node = absl::GetFlag(FLAGS_max_connections_per_node);
  options.transport.threads = absl::GetFlag(FLAGS_transport_threads);
  if (options.transport.threads == 0) options.transport.threads = DefaultTransportThreads();
  options.transport.ca_file = absl::GetFlag(FLAGS_es_ca_file);
  options.transport.client_cert_file = absl::GetFlag(FLAGS_es_client_cert_file);
  options.transport.client_key_file = absl::GetFlag(FLAGS_es_client_key_file);
  options.transport.verify_hostname = absl::GetFlag(FLAGS_es_verify_hostname);
  options.transport.insecure_skip_verify = absl::GetFlag(FLAGS_es_insecure_skip_verify);
  options.transport.gzip_min_bytes = absl::GetFlag(FLAGS_gzip_min_bytes);
  // The secrets themselves may come from the environment instead of files; never from flags,
  // which show up in process listings.
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  auto credentials = esgw::LoadEsCredentials(
      absl::GetFlag(FLAGS_es_username), absl::GetFlag(FLAGS_es_password_file),
      absl::GetFlag(FLAGS_es_api_key_file),
      {.password = env("ESGW_ES_PASSWORD"), .api_key = env("ESGW_ES_API_KEY")});
  if (!credentials.ok()) {
    std::fprintf(stderr, "esgw-server: %s\n", std::string(credentials.status().message()).c_str());
    return 2;
  }
  options.transport.authorization = credentials->AuthorizationHeader();
  esgw::Log(esgw::LogLevel::kInfo, "elasticsearch credentials",
            {{"auth", credentials->RedactedDescription()}});
  options.default_timeout = absl::GetFlag(FLAGS_request_timeout);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.cluster_health_ttl = absl::GetFlag(FLAGS_cluster_health_cache);
  options.shutdown_delay = absl::GetFlag(FLAGS_shutdown_delay);
  options.keepalive_time = absl::GetFlag(FLAGS_keepalive_time);
  options.keepalive_timeout = absl::GetFlag(FLAGS_keepalive_timeout);
  options.keepalive_min_client_interval = absl::GetFlag(FLAGS_keepalive_min_client_interval);
  options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);

  // Names that do not parse are reported with the accepted values, and the process exits 2.
  auto pool_mode = esgw::ParsePoolMode(absl::GetFlag(FLAGS_pool_mode));
  auto selector = esgw::ParseSelectorKind(absl::GetFlag(FLAGS_selector));
  auto sniff_mode = esgw::ParseSniffMode(absl::GetFlag(FLAGS_sniff_mode));
  auto opaque_id = esgw::OpaqueIdPolicy::Parse(absl::GetFlag(FLAGS_es_opaque_id), "es_opaque_id");
  for (const auto& [flag, status] :
       {std::pair<const char*, absl::Status>{"pool_mode", pool_mode.status()},
        {"selector", selector.status()},
        {"sniff_mode", sniff_mode.status()},
        {"es_opaque_id", opaque_id.status()}}) {
    if (!status.ok()) {
      StartupError(sources, absl::StrCat("--", flag, ": ", status.message()));
      return 2;
    }
  }
  options.opaque_id = *opaque_id;
  if (absl::GetFlag(FLAGS_bulk_max_bytes) <= 0 || absl::GetFlag(FLAGS_bulk_max_ops) <= 0) {
    std::fprintf(stderr, "esgw-server: --bulk_max_bytes and --bulk_max_ops must be positive\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_bulk_retry_initial) <= absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_bulk_retry_max) < absl::GetFlag(FLAGS_bulk_retry_initial)) {
    std::fprintf(stderr,
                 "esgw-server: --bulk_retry_initial must be positive and at most "
                 "--bulk_retry_max\n");
    return 2;
  }
  options.bulk.max_batch_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_bulk_max_bytes));
  options.bulk.max_batch_ops = absl::GetFlag(FLAGS_bulk_max_ops);
  options.bulk.retry_initial = absl::GetFlag(FLAGS_bulk_retry_initial);
  options.bulk.retry_max = absl::GetFlag(FLAGS_bulk_retry_max);
  options.ingest.flush_interval = absl::GetFlag(FLAGS_ingest_flush_interval);
  options.ingest.max_concurrent_batches = absl::GetFlag(FLAGS_ingest_max_concurrent_batches);
  options.ingest.max_buffer_bytes =
      static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_ingest_max_buffer_bytes)));
  options.ingest.batch_timeout = options.default_timeout;
  options.ingest.idle_timeout = absl::GetFlag(FLAGS_ingest_idle_timeout);
  if (const absl::Status valid = esgw::ValidateIngestSettings(options.ingest, options.bulk);
      !valid.ok()) {
    StartupError(sources, absl::StrCat("--", valid.message()));
    return 2;
  }
  options.pool.mode = *pool_mode;
  options.pool.selector = *selector;
  options.pool.backoff.base = absl::GetFlag(FLAGS_dead_timeout);
  options.pool.backoff.cap = absl::GetFlag(FLAGS_max_dead_timeout);
  options.pool.soft_failure_threshold = absl::GetFlag(FLAGS_soft_failure_threshold);
  options.sniffer.mode = *sniff_mode;
  options.sniffer.sniff_on_start = absl::GetFlag(FLAGS_sniff_on_start);
  options.sniffer.interval = absl::GetFlag(FLAGS_sniff_interval);
  options.sniffer.use_hostname = absl::GetFlag(FLAGS_sniff_use_hostname);
  options.prober.timeout = absl::GetFlag(FLAGS_probe_timeout);
  options.retry.max_retries = absl::GetFlag(FLAGS_max_retries);
  options.retry.attempt_timeout = absl::GetFlag(FLAGS_attempt_timeout);
  if (options.retry.attempt_timeout < absl::ZeroDuration()) {
    std::fprintf(stderr, "esgw-server: --attempt_timeout must not be negative (0 turns it off)\n");
    return 2;
  }
  options.tls = {.cert_file = absl::GetFlag(FLAGS_tls_cert),
                 .key_file = absl::GetFlag(FLAGS_tls_key),
                 .client_ca_file = absl::GetFlag(FLAGS_tls_client_ca),
                 .reload_interval = absl::GetFlag(FLAGS_tls_reload_interval)};
  options.auth_file = absl::GetFlag(FLAGS_auth_file);
  options.principal_limits = {
      .max_concurrent_rpcs = absl::GetFlag(FLAGS_max_concurrent_rpcs_per_principal),
      .max_ingest_streams = absl::GetFlag(FLAGS_max_ingest_streams_per_principal)};
  for (const auto& [name, value] :
       {std::pair<const char*, int64_t>{"max_read_request_bytes",
                                        absl::GetFlag(FLAGS_max_read_request_bytes)},
        {"max_bulk_request_bytes", absl::GetFlag(FLAGS_max_bulk_request_bytes)}}) {
    if (value < 1 || value > (int64_t{1} << 30)) {
      StartupError(sources, absl::StrCat("--", name, " must be between 1 and 1073741824"));
      return 2;
    }
  }
  if (const int64_t bytes = absl::GetFlag(FLAGS_max_response_bytes);
      bytes < 1024 || bytes > (int64_t{1} << 31)) {
    StartupError(sources, "--max_response_bytes must be between 1024 and 2147483648");
    return 2;
  }
  options.transport.max_response_bytes = absl::GetFlag(FLAGS_max_response_bytes);
  options.max_read_request_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_read_request_bytes));
  options.max_bulk_request_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_bulk_request_bytes));

  // Block the stop signals in every thread (threads inherit the mask), then wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that goes away mid-write must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  auto server = esgw::EsgwServer::Start(options);
  if (!server.ok()) {
    StartupError(sources, std::string(server.status().message()));
    return server.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() &&
      !WritePortFile(port_file, (*server)->port(), (*server)->metrics_port())) {
    std::fprintf(stderr, "esgw-server: --port_file: cannot write '%s'\n", port_file.c_str());
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  esgw::Log(esgw::LogLevel::kInfo, "stopping",
            {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  esgw::Log(esgw::LogLevel::kInfo, "stopped");
  return 0;
}
