#include "pool/curl_transport.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <fstream>
#include <iterator>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace esgw {
namespace {

// curl_global_init is not thread-safe; run it once, before the first transport starts.
bool GlobalInit() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

long ToMillis(absl::Duration d) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(d)));
}

long ToSeconds(absl::Duration d) {
  return static_cast<long>(std::max<int64_t>(1, absl::ToInt64Seconds(d)));
}

// zlib level for request bodies. Measured on an 8 MiB NDJSON bulk body (zlib 1.2.13, one core):
// level 1 takes ~7 ms/MiB and leaves 21.8 % of the bytes, level 3 ~9 ms/MiB for 18.7 %, level 6
// ~19 ms/MiB for 16.1 %. Level 3 saves 0.03 MiB per MiB for 2+ ms more CPU, which pays only
// on links slower than ~100 Mbit/s; Elasticsearch sits on faster ones.
constexpr int kGzipLevel = 1;

// Compresses `in` as one gzip member into *out. False (out untouched) when zlib fails or the
// input is beyond zlib's 32-bit single-call limit; the caller then sends the body as it is.
bool GzipCompress(const std::string& in, std::string* out) {
  if (in.size() > UINT_MAX / 2) return false;
  z_stream z = {};
  // 15 + 16: a 32 KiB window with the gzip wrapper, which Content-Encoding: gzip means.
  if (deflateInit2(&z, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  std::string compressed(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(compressed.data());
  z.avail_out = static_cast<uInt>(compressed.size());
  const int rc = deflate(&z, Z_FINISH);
  compressed.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return false;
  *out = std::move(compressed);
  return true;
}

bool HasControlCharacter(absl::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Checks that a TLS file named by option `option` can be read and holds the PEM blocks it
// should. Never quotes the content: a key file is a secret.
absl::Status CheckPemFile(absl::string_view option, const std::string& path, bool certificate,
                          bool private_key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(option, ": cannot read '", path, "'"));
  const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(option, ": cannot read '", path, "'"));
  }
  if (certificate && !absl::StrContains(pem, "-----BEGIN CERTIFICATE-----")) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, ": '", path, "' holds no PEM certificate"));
  }
  if (private_key) {
    if (absl::StrContains(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
        absl::StrContains(pem, "Proc-Type: 4,ENCRYPTED")) {
      return absl::InvalidArgumentError(absl::StrCat(
          option, ": '", path, "' holds an encrypted private key; esgw needs it unencrypted"));
    }
    if (!absl::StrContains(pem, "PRIVATE KEY-----")) {
      return absl::InvalidArgumentError(
          absl::StrCat(option, ": '", path, "' holds no PEM private key"));
    }
  }
  return absl::OkStatus();
}

// Headers that would change how the message is framed, or that the transport writes itself
// for this exchange.
bool IsReservedHeader(absl::string_view name, bool have_authorization, bool gzipped) {
  for (absl::string_view reserved :
       {"host", "content-length", "transfer-encoding", "connection", "expect"}) {
    if (absl::EqualsIgnoreCase(name, reserved)) return true;
  }
  if (gzipped && absl::EqualsIgnoreCase(name, "content-encoding")) return true;
  return have_authorization && absl::EqualsIgnoreCase(name, "authorization");
}

bool HasHeader(const HttpRequest& request, absl::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (absl::EqualsIgnoreCase(header, name)) return true;
  }
  return false;
}

}  // namespace

// One exchange in flight. Owned by its loop from Enqueue to the callback.
struct CurlTransfer {
  Transport::TransferId id = 0;
  Endpoint node;
  std::string host_port;
  std::string url;
  HttpRequest request;
  Transport::Callback done;
  CurlTransport* owner = nullptr;
  int64_t max_response_bytes = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse response;
  absl::Time start;
  // Set when curl has a connection and is about to send the request: before that, nothing
  // reached the node and a failure is a connect failure.
  bool request_started = false;
  // How often curl was about to send the request; more than once when it re-sent the request
  // on a fresh connection after a reused one died.
  int send_attempts = 0;
  // The body was gzip-compressed in Send.
  bool gzipped = false;
  bool body_too_large = false;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

// One event loop: a thread running a CURLM. Everything but the queue is touched only by that
// thread, so curl handles never cross threads.
class CurlTransport::Loop {
 public:
  explicit Loop(CurlTransport* owner) : owner_(owner) {}

  ~Loop() {
    Stop();
    for (CURL* easy : spare_) curl_easy_cleanup(easy);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  absl::Status Start() {
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return absl::InternalError("curl_multi_init failed");
    const Options& o = owner_->options_;
    const int loops = std::max(1, o.threads);
    // The per-node cap is shared out between the loops, rounding up so each loop gets one.
    const long per_host = std::max(1, (o.max_connections_per_node + loops - 1) / loops);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(o.max_idle_connections));
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  // Queues work for the loop thread. Returns the transfer back when the loop is stopping.
  std::unique_ptr<CurlTransfer> Enqueue(std::unique_ptr<CurlTransfer> transfer);
  void EnqueueCancel(TransferId id) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      cancels_.push_back(id);
    }
    curl_multi_wakeup(multi_);
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
    if (thread_.joinable()) thread_.join();
  }

  CurlTransport* owner() const { return owner_; }

  // A handle with the options every exchange shares (see StartTransfer); null when curl
  // cannot make one.
  CURL* NewHandle();

  // curl callbacks; they run on this loop's thread.
  static size_t OnBody(char* data, size_t size, size_t count, void* user);
  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address);
  static int OnCloseSocket(void* user, curl_socket_t fd);

 private:
  void Run();
  void StartTransfer(std::unique_ptr<CurlTransfer> transfer);
  void Complete(CurlTransfer* transfer, CURLcode code);
  void Finish(std::unique_ptr<CurlTransfer> transfer);

  CurlTransport* const owner_;
  CURLM* multi_ = nullptr;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<CurlTransfer>> incoming_ ABSL_GUARDED_BY(mu_);
  std::vector<TransferId> cancels_ ABSL_GUARDED_BY(mu_);

  // Loop thread only.
  absl::flat_hash_map<TransferId, std::unique_ptr<CurlTransfer>> active_;
  std::vector<CURL*> spare_;
};

namespace {

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<CurlTransfer*>(user);
  const size_t n = size * count;
  absl::string_view line(data, n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response starts (e.g. after 100 Continue): forget headers of the previous one.
    t->response.content_type.clear();
    t->response.retry_after.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  const absl::string_view name = line.substr(0, colon);
  const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (absl::EqualsIgnoreCase(name, "content-type")) {
    t->response.content_type = std::string(value);
  } else if (absl::EqualsIgnoreCase(name, "retry-after")) {
    t->response.retry_after = std::string(value);
  } else if (absl::EqualsIgnoreCase(name, "content-length")) {
    size_t length = 0;
    // Bounded: a lying header must not make us reserve gigabytes up front, nor more than the
    // body may hold.
    if (absl::SimpleAtoi(value, &length) && length < (size_t{64} << 20) &&
        static_cast<int64_t>(length) <= t->max_response_bytes) {
      t->response.body.reserve(length + kBodyPadding);
    }
  }
  return n;
}

int OnPrereq(void* user, char*, char*, int, int) {
  auto* t = static_cast<CurlTransfer*>(user);
  t->request_started = true;
  ++t->send_attempts;
  return CURL_PREREQFUNC_OK;
}

// True when curl failed because the node sent a TLS alert (OpenSSL's reason strings for a
// received alert read "... alert certificate required", "... alert unknown ca" and so on). In
// TLS 1.3 the client considers the handshake done before the server has checked the client's
// certificate, so a refused client certificate shows up on the first read, not at connect.
bool IsTlsAlert(const char* error_text) {
  const absl::string_view text(error_text);
  return absl::StrContains(text, "SSL routines") && absl::StrContains(text, " alert ");
}

// Which TransportError a finished transfer ended with. request_bytes is how much of the request
// went out, header_bytes how much of a response arrived. A reused connection that died before
// any response byte had been closed by the server.
TransportError Classify(CURLcode code, const CurlTransfer& t, long request_bytes,
                        long header_bytes) {
  switch (code) {
    case CURLE_OK:
      return TransportError::kNone;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
      // Once the request has started (curl calls OnPrereq only on a connection that is up), a
      // connect failure is curl's own reconnect after the reused connection it was sending on
      // died: when bytes of the request had gone out, that first copy may have reached the node.
      return t.request_started && request_bytes > 0 ? TransportError::kStaleConnection
                                                    : TransportError::kConnectFailed;
    case CURLE_OPERATION_TIMEDOUT:
      return t.request_started ? TransportError::kTimeout : TransportError::kConnectFailed;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      if (!t.request_started) return TransportError::kConnectFailed;
      if (header_bytes == 0) {
        if (t.response.connection_reused) return TransportError::kStaleConnection;
        // A fresh connection the node dropped before a byte of the request left, or a TLS
        // session it refused (e.g. no or an untrusted client certificate): nothing reached
        // Elasticsearch.
        if (request_bytes == 0 || IsTlsAlert(t.error_buffer)) {
          return TransportError::kConnectFailed;
        }
      }
      return TransportError::kConnectionLost;
    case CURLE_ABORTED_BY_CALLBACK:
      return TransportError::kCancelled;
    default:
      return TransportError::kOther;
  }
}

}  // namespace

size_t CurlTransport::Loop::OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<CurlTransfer*>(user);
  const size_t n = size * count;
  std::string& body = t->response.body;
  if (static_cast<int64_t>(body.size() + n) > t->max_response_bytes) {
    t->body_too_large = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  if (body.capacity() < body.size() + n + kBodyPadding) {
    body.reserve(std::max(body.capacity() * 2, body.size() + n + kBodyPadding));
  }
  body.append(data, n);
  return n;
}

curl_socket_t CurlTransport::Loop::OnOpenSocket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* t = static_cast<CurlTransfer*>(user);
  const curl_socket_t fd = socket(address->family, address->socktype, address->protocol);
  if (fd != CURL_SOCKET_BAD) {
    CurlTransport* owner = t->owner;
    absl::MutexLock lock(&owner->stats_mu_);
    owner->socket_nodes_[fd] = t->host_port;
    ++owner->connection_stats_[t->host_port].opened;
  }
  return fd;
}

int CurlTransport::Loop::OnCloseSocket(void* user, curl_socket_t fd) {
  auto* owner = static_cast<CurlTransport*>(user);
  {
    absl::MutexLock lock(&owner->stats_mu_);
    if (auto it = owner->socket_nodes_.find(fd); it != owner->socket_nodes_.end()) {
      ++owner->connection_stats_[it->second].closed;
      owner->socket_nodes_.erase(it);
    }
  }
  return close(fd);
}

std::unique_ptr<CurlTransfer> CurlTransport::Loop::Enqueue(std::unique_ptr<CurlTransfer> transfer) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return transfer;
    incoming_.push_back(std::move(transfer));
  }
  curl_multi_wakeup(multi_);
  return nullptr;
}

void CurlTransport::Loop::Run() {
  // Named so that profiles and per-thread CPU figures (esgw-bench) can tell the loops apart.
  pthread_setname_np(pthread_self(), "esgw-http");
  std::vector<std::unique_ptr<CurlTransfer>> incoming;
  std::vector<TransferId> cancels;
  while (true) {
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      stopping = stopping_;
      incoming.swap(incoming_);
      cancels.swap(cancels_);
    }
    for (auto& transfer : incoming) {
      if (stopping) {
        transfer->response.error = TransportError::kCancelled;
        transfer->response.error_message = "transport is shutting down";
        Finish(std::move(transfer));
      } else {
        StartTransfer(std::move(transfer));
      }
    }
    incoming.clear();
    for (TransferId id : cancels) {
      auto it = active_.find(id);
      if (it == active_.end()) continue;  // already finished
      CurlTransfer* t = it->second.get();
      // Removing the handle mid-transfer makes curl close its connection: the node sees the
      // socket go away, which is how a cancelled search stops costing the cluster.
      curl_multi_remove_handle(multi_, t->easy);
      t->response.error = TransportError::kCancelled;
      t->response.error_message = "cancelled by the caller";
      std::unique_ptr<CurlTransfer> owned = std::move(it->second);
      active_.erase(it);
      Finish(std::move(owned));
    }
    cancels.clear();
    if (stopping) {
      for (auto& [id, t] : active_) {
        curl_multi_remove_handle(multi_, t->easy);
        t->response.error = TransportError::kCancelled;
        t->response.error_message = "transport is shutting down";
      }
      auto active = std::move(active_);
      active_.clear();
      for (auto& [id, t] : active) Finish(std::move(t));
      return;
    }

    int running = 0;
    curl_multi_perform(multi_, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CurlTransfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      Complete(t, msg->data.result);
    }
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
}

// Options that are the same for every exchange, set once when a handle is made: a handle goes
// back to the loop's spares without curl_easy_reset, so the next exchange sets only what is its
// own (StartTransfer). The reset and the forty setopts it forced, each string option copied
// again, cost about 7,500 instructions a Search (3 %, counted under callgrind).
CURL* CurlTransport::Loop::NewHandle() {
  CURL* e = curl_easy_init();
  if (e == nullptr) return nullptr;
  const Options& o = owner_->options_;
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(e, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, ToSeconds(o.tcp_keepalive_idle));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, ToSeconds(o.tcp_keepalive_interval));
  curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, ToSeconds(o.idle_ttl));
  curl_easy_setopt(e, CURLOPT_MAXLIFETIME_CONN, ToSeconds(o.max_lifetime));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Loop::OnBody);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, &OnPrereq);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Loop::OnOpenSocket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Loop::OnCloseSocket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, owner_);
  // TLS settings are the same for every exchange, so curl may reuse any https connection.
  curl_easy_setopt(e, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!o.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, o.ca_file.c_str());
  if (!o.client_cert_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, o.client_cert_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!o.client_key_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLKEY, o.client_key_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o.insecure_skip_verify ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
                   o.insecure_skip_verify || !o.verify_hostname ? 0L : 2L);
  return e;
}

void CurlTransport::Loop::StartTransfer(std::unique_ptr<CurlTransfer> transfer) {
  const Options& o = owner_->options_;
  CurlTransfer* t = transfer.get();
  t->owner = owner_;
  t->max_response_bytes = o.max_response_bytes;
  if (!spare_.empty()) {
    t->easy = spare_.back();
    spare_.pop_back();
  } else {
    t->easy = NewHandle();
  }
  if (t->easy == nullptr) {
    t->response.error = TransportError::kOther;
    t->response.error_message = "curl_easy_init failed";
    Finish(std::move(transfer));
    return;
  }
  CURL* e = t->easy;
  const HttpRequest& r = t->request;
  t->url = absl::StrCat(t->node.BaseUrl(), r.path);
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ToMillis(r.timeout));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ToMillis(std::min(o.connect_timeout, r.timeout)));
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);

  // Every method option is set each time, since the handle remembers its last exchange's:
  // NOBODY first (clearing it also turns a HEAD back into a GET), then the method itself, and
  // the verb of PUT and DELETE or none. POSTFIELDS makes the exchange a POST with that body.
  curl_easy_setopt(e, CURLOPT_NOBODY, r.method == HttpMethod::kHead ? 1L : 0L);
  const bool custom_verb = r.method == HttpMethod::kPut || r.method == HttpMethod::kDelete;
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                   custom_verb ? HttpMethodName(r.method).data() : nullptr);
  if (r.method == HttpMethod::kGet) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (r.method != HttpMethod::kHead) {
    // The body stays alive in the CurlTransfer until completion, so curl need not copy it.
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  }
  // "Expect: 100-continue" would cost a round trip on every body over 1 KiB.
  t->headers = curl_slist_append(t->headers, "Expect:");
  t->headers = curl_slist_append(t->headers, "Accept: application/json");
  if (!r.content_type.empty()) {
    t->headers =
        curl_slist_append(t->headers, absl::StrCat("Content-Type: ", r.content_type).c_str());
  } else if (r.method != HttpMethod::kGet && r.method != HttpMethod::kHead) {
    // Without this, curl labels a POSTFIELDS body (even an empty one, as a DELETE's) as a form.
    t->headers = curl_slist_append(t->headers, "Content-Type:");
  }
  if (t->gzipped) t->headers = curl_slist_append(t->headers, "Content-Encoding: gzip");
  const std::string& authorization = owner_->authorization_line_;
  if (!authorization.empty()) t->headers = curl_slist_append(t->headers, authorization.c_str());
  for (const auto& [name, value] : r.headers) {
    // A CR or LF would let a value start a header of its own; leave such headers out.
    if (!IsValidHeaderField(name, value) ||
        IsReservedHeader(name, !authorization.empty(), t->gzipped)) {
      continue;
    }
    // curl reads "Name:" as "remove header Name" and "Name;" as "send it empty".
    t->headers = curl_slist_append(
        t->headers,
        (value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value)).c_str());
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);

  t->start = o.clock->Now();
  if (curl_multi_add_handle(multi_, e) != CURLM_OK) {
    t->response.error = TransportError::kOther;
    t->response.error_message = "curl_multi_add_handle failed";
    Finish(std::move(transfer));
    return;
  }
  active_.emplace(t->id, std::move(transfer));
}

void CurlTransport::Loop::Complete(CurlTransfer* t, CURLcode code) {
  curl_multi_remove_handle(multi_, t->easy);
  long status = 0;
  long connects = 0;
  long header_bytes = 0;
  long request_bytes = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
  curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(t->easy, CURLINFO_HEADER_SIZE, &header_bytes);
  if (t->send_attempts > 1) {
    absl::MutexLock lock(&owner_->stats_mu_);
    owner_->connection_stats_[t->host_port].resent_by_curl += t->send_attempts - 1;
  }
  HttpResponse& response = t->response;
  response.status = static_cast<int>(status);
  response.connection_reused = connects == 0;
  response.error = Classify(code, *t, request_bytes, header_bytes);
  if (response.error == TransportError::kConnectFailed && t->send_attempts > 1) {
    // curl sent the request on a reused connection that died, then failed to open a fresh one:
    // the first copy may have reached the node, so "nothing was sent" would be a lie.
    response.error = TransportError::kStaleConnection;
  }
  if (t->body_too_large) {
    response.error = TransportError::kResponseTooLarge;
    response.error_message = absl::StrCat("response body larger than max_response_bytes (",
                                          owner_->options_.max_response_bytes, " bytes)");
  } else if (response.error != TransportError::kNone) {
    // The buffer holds curl's first complaint, which need not be the one that ended the
    // transfer (e.g. "getpeername() failed" before "Failed sending data"), so name both.
    response.error_message = curl_easy_strerror(code);
    if (t->error_buffer[0] != '\0') absl::StrAppend(&response.error_message, ": ", t->error_buffer);
    if (response.error == TransportError::kConnectFailed && t->request_started &&
        absl::StartsWith(t->url, "https:")) {
      absl::StrAppend(&response.error_message,
                      " (the node ended the TLS session before taking the request: it may "
                      "require a client certificate, or not trust ours)");
    }
  }
  auto it = active_.find(t->id);
  std::unique_ptr<CurlTransfer> owned = std::move(it->second);
  active_.erase(it);
  Finish(std::move(owned));
}

void CurlTransport::Loop::Finish(std::unique_ptr<CurlTransfer> transfer) {
  CurlTransfer* t = transfer.get();
  const Options& o = owner_->options_;
  t->response.elapsed = o.clock->Now() - t->start;
  if (t->easy != nullptr) {
    // The fixed options stay (NewHandle). Nothing reads the others before the next
    // StartTransfer sets them again; still, the spare keeps no pointer into this transfer.
    CURL* e = t->easy;
    for (CURLoption option :
         {CURLOPT_HTTPHEADER, CURLOPT_POSTFIELDS, CURLOPT_ERRORBUFFER, CURLOPT_PRIVATE,
          CURLOPT_WRITEDATA, CURLOPT_HEADERDATA, CURLOPT_PREREQDATA, CURLOPT_OPENSOCKETDATA}) {
      curl_easy_setopt(e, option, static_cast<void*>(nullptr));
    }
    spare_.push_back(e);
    t->easy = nullptr;
  }
  if (t->headers != nullptr) curl_slist_free_all(t->headers);
  t->headers = nullptr;
  std::move(t->done)(std::move(t->response));
}

CurlTransport::CurlTransport(Options options)
    : options_(std::move(options)),
      authorization_line_(options_.authorization.empty()
                              ? ""
                              : absl::StrCat("Authorization: ", options_.authorization)) {}

absl::StatusOr<std::unique_ptr<CurlTransport>> CurlTransport::Create(Options options) {
  if (options.threads < 1 || options.threads > 64) {
    return absl::InvalidArgumentError("transport threads must be from 1 to 64");
  }
  if (options.max_connections_per_node < 1) {
    return absl::InvalidArgumentError("max_connections_per_node must be at least 1");
  }
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must be positive");
  }
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must be set");
  if (options.gzip_min_bytes < 0) {
    return absl::InvalidArgumentError("gzip_min_bytes must not be negative");
  }
  if (options.max_response_bytes < 1) {
    return absl::InvalidArgumentError("max_response_bytes must be positive");
  }
  if (HasControlCharacter(options.authorization)) {
    // Says nothing about the value: it is a secret.
    return absl::InvalidArgumentError(
        "authorization must not contain line breaks or control characters");
  }
  if (!options.ca_file.empty()) {
    if (absl::Status s = CheckPemFile("ca_file", options.ca_file, true, false); !s.ok()) return s;
  }
  if (!options.client_key_file.empty() && options.client_cert_file.empty()) {
    return absl::InvalidArgumentError("client_key_file is set but client_cert_file is not");
  }
  if (!options.client_cert_file.empty()) {
    // Without a key file, the key must sit next to the certificate.
    if (absl::Status s = CheckPemFile("client_cert_file", options.client_cert_file, true,
                                      options.client_key_file.empty());
        !s.ok()) {
      return s;
    }
  }
  if (!options.client_key_file.empty()) {
    if (absl::Status s = CheckPemFile("client_key_file", options.client_key_file, false, true);
        !s.ok()) {
      return s;
    }
  }
  if (!GlobalInit()) return absl::InternalError("curl_global_init failed");
  auto transport = std::unique_ptr<CurlTransport>(new CurlTransport(std::move(options)));
  for (int i = 0; i < transport->options_.threads; ++i) {
    transport->loops_.push_back(std::make_unique<Loop>(transport.get()));
  }
  for (auto& loop : transport->loops_) {
    if (absl::Status s = loop->Start(); !s.ok()) return s;
  }
  return transport;
}

CurlTransport::~CurlTransport() {
  Shutdown();
  // Destroying the loops closes cached connections through OnCloseSocket, which uses stats_mu_.
  loops_.clear();
}

void CurlTransport::Shutdown() {
  for (auto& loop : loops_) loop->Stop();
}

Transport::TransferId CurlTransport::Send(const Endpoint& node, HttpRequest request,
                                          Callback done) {
  const uint64_t n = next_id_.fetch_add(1, std::memory_order_relaxed);
  const size_t loop_index = n % loops_.size();
  auto transfer = std::make_unique<CurlTransfer>();
  // The id names its loop, so Cancel knows where to go without a shared map.
  transfer->id = n * loops_.size() + loop_index + 1;
  transfer->node = node;
  transfer->host_port = node.HostPort();
  // Compressed here, on the caller's thread, so a large bulk body never stalls the loop thread
  // that serves every other exchange. Skipped when the caller already encoded the body, and
  // kept raw when gzip does not make it smaller (already compressed data).
  if (options_.gzip_min_bytes > 0 && request.method != HttpMethod::kGet &&
      request.method != HttpMethod::kHead &&
      static_cast<int64_t>(request.body.size()) >= options_.gzip_min_bytes &&
      !HasHeader(request, "content-encoding")) {
    std::string compressed;
    if (GzipCompress(request.body, &compressed) && compressed.size() < request.body.size()) {
      request.body = std::move(compressed);
      transfer->gzipped = true;
    }
  }
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  const TransferId id = transfer->id;
  Loop& loop = *loops_[loop_index];
  if (auto refused = loop.Enqueue(std::move(transfer))) {
    refused->response.error = TransportError::kCancelled;
    refused->response.error_message = "transport is shutting down";
    std::move(refused->done)(std::move(refused->response));
  }
  return id;
}

void CurlTransport::Cancel(TransferId id) {
  if (id == 0) return;
  loops_[(id - 1) % loops_.size()]->EnqueueCancel(id);
}

CurlTransport::ConnectionStats CurlTransport::GetConnectionStats(
    const std::string& host_port) const {
  absl::MutexLock lock(&stats_mu_);
  auto it = connection_stats_.find(host_port);
  return it == connection_stats_.end() ? ConnectionStats{} : it->second;
}

}  // namespace esgw
