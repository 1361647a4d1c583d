# TLS to Elasticsearch, credentials and in-process HTTP(S) peers for the curl transport tests.
# Included at the end of tests/CMakeLists.txt.

# Debian's cpp-httplib is a compiled library built with OpenSSL, zlib and brotli support; its
# pkg-config file carries the matching CPPHTTPLIB_*_SUPPORT definitions, which every user must
# see or the classes' layout differs from the library's.
find_package(PkgConfig)
if(PkgConfig_FOUND)
  pkg_check_modules(ESGW_HTTPLIB IMPORTED_TARGET cpp-httplib)
endif()
if(NOT ESGW_HTTPLIB_FOUND)
  message(STATUS "cpp-httplib not found: curl_tls_test is not built, and curl_transport_test "
                 "runs without its in-process HTTP peer")
  return()
endif()

target_link_libraries(curl_transport_test PRIVATE PkgConfig::ESGW_HTTPLIB)
target_compile_definitions(curl_transport_test PRIVATE ESGW_HAVE_HTTPLIB=1)

esgw_integration_test(curl_tls_test integration/curl_tls_test.cc
  esgw::transport_curl PkgConfig::ESGW_HTTPLIB OpenSSL::SSL OpenSSL::Crypto)
