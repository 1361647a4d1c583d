# TLS to Elasticsearch, credentials and in-process HTTP(S) peers for the curl transport tests.
# Included at the end of tests/CMakeLists.txt.

# cpp-httplib (PkgConfig::ESGW_HTTPLIB) is found by the top-level CMakeLists.txt.
target_link_libraries(curl_transport_test PRIVATE PkgConfig::ESGW_HTTPLIB)
target_compile_definitions(curl_transport_test PRIVATE ESGW_HAVE_HTTPLIB=1)

esgw_integration_test(curl_tls_test integration/curl_tls_test.cc
  esgw::transport_curl PkgConfig::ESGW_HTTPLIB OpenSSL::SSL OpenSSL::Crypto)
