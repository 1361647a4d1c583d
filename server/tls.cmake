# TLS and mutual TLS for esgw-server's gRPC listener (--tls_cert, --tls_key, --tls_client_ca,
# --tls_reload_interval): flag checks and reloading server credentials. Included from
# server/CMakeLists.txt.
add_library(esgw_tls STATIC ${CMAKE_CURRENT_LIST_DIR}/tls_credentials.cc)
add_library(esgw::tls ALIAS esgw_tls)
target_include_directories(esgw_tls PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(esgw_tls PUBLIC gRPC::grpc++ OpenSSL::SSL OpenSSL::Crypto absl::status
  absl::statusor absl::strings absl::time)
esgw_warnings(esgw_tls)
