# esgw-server's TLS and mutual TLS (server/tls_credentials.h) on an in-process gRPC server over
# loopback sockets, certificate reload included. Included from tests/CMakeLists.txt.
esgw_integration_test(tls_credentials_test ${CMAKE_CURRENT_LIST_DIR}/tls_credentials_test.cc
  esgw::tls esgw::proto gRPC::grpc++)
