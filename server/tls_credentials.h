// TLS for esgw-server's gRPC listener: checks the --tls_* flags, builds plaintext, TLS or
// mutual-TLS server credentials whose certificate files gRPC re-reads while the server runs, and
// reads the client certificate's subject from a call.
// Thread-safe: free functions over values. The credentials own a gRPC file-watcher thread.
#pragma once

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace esgw {

struct ServerTlsOptions {
  // PEM certificate chain of the server, leaf first (--tls_cert). Empty: plaintext.
  std::string cert_file = "";
  // PEM private key of that leaf, unencrypted (--tls_key).
  std::string key_file = "";
  // PEM bundle of the CAs that sign client certificates (--tls_client_ca). When set, every client
  // must present a certificate that chains to one of them (mutual TLS).
  std::string client_ca_file = "";
  // How often gRPC re-reads the three files (--tls_reload_interval). Whole seconds, at least 1s:
  // gRPC's file watcher counts in seconds.
  absl::Duration reload_interval = absl::Seconds(60);
};

// Checks the options the way the server will use them, so a bad flag fails at start instead of at
// the first handshake. OK for plaintext (no file set). Otherwise INVALID_ARGUMENT whose message
// starts with the flag at fault and says the rule:
//   --tls_cert / --tls_key       only one of the pair is set;
//   --tls_client_ca              set without --tls_cert;
//   --tls_cert                   unreadable, or holds no PEM certificate;
//   --tls_key                    unreadable, not an unencrypted PEM private key, or not the key of
//                                the first certificate in --tls_cert;
//   --tls_client_ca              unreadable, or holds no PEM certificate;
//   --tls_reload_interval        under 1s, not whole seconds, or beyond what gRPC can count.
// The reload interval is checked even for plaintext, so a typo never waits for TLS to be enabled.
// Messages name the files but never quote their contents.
absl::Status ValidateServerTls(const ServerTlsOptions& options);

// The credentials for grpc::ServerBuilder::AddListeningPort, after ValidateServerTls (its errors
// are returned as they are):
//  - no cert_file: grpc::InsecureServerCredentials();
//  - cert_file and key_file: TLS; no client certificate is asked for;
//  - with client_ca_file as well: mutual TLS; a handshake without a client certificate that
//    chains to client_ca_file fails, so no call is ever seen from such a client.
// INTERNAL if gRPC refuses the TLS options.
//
// Reloading (gRPC 1.51's FileWatcherCertificateProvider): every reload_interval gRPC re-reads
// the files in one pass (client CA, then key and certificate) and, when their bytes changed,
// connections accepted from then on use the new ones; established connections keep theirs. The
// server is never restarted. What gRPC does with each kind of replacement, as
// tests/server/tls_credentials_test.cc observes it:
//  - a good pair, or a new client CA: in force from the next re-read;
//  - a file that is missing or unreadable: gRPC logs the failed read and keeps using the last
//    good certificate (or CA);
//  - a readable but unusable pair (a key that is not the certificate's, or a file that is not
//    PEM): gRPC takes it, fails to build a TLS context from it ("Invalid private key",
//    "Update handshaker factory failed" in its log) and refuses every new handshake until a good
//    pair is in place at a later re-read. It does NOT keep serving the last good certificate.
// gRPC does not pair the key with the certificate, so replacing them as two files leaves a short
// window in which a re-read sees the new key with the old certificate and new connections are
// refused for one interval. Rename each file into place (never write it in place), and to avoid
// the window keep the pair in a directory reached through a symlink that is switched in one
// rename (as Kubernetes does for Secret volumes); check a new pair (ValidateServerTls) before it
// goes live.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options);

// The subject of the client certificate on the call's connection, as gRPC's auth context reports
// it (property "x509_subject"): OpenSSL's RFC 2253 form, the last attribute of the certificate's
// subject first, comma-separated without spaces, special characters escaped with a backslash.
// A certificate issued to "/O=Example Org/CN=ops" gives "CN=ops,O=Example Org", and an
// organization "Example, Inc." appears as "O=Example\, Inc.". Empty on plaintext and on TLS
// without a client certificate (also when one is sent but the server did not ask for it).
std::string PeerCertificateSubject(const grpc::ServerContextBase& context);

}  // namespace esgw
