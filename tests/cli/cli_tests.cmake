# The client library and esgw-cli. Included from tests/CMakeLists.txt.

# Unit: the library's options, service config, channel arguments and latency percentiles; the
# CLI's parts.
esgw_unit_test(cli_client_options_test cli/client_options_test.cc esgw::client esgw::test_support)
esgw_unit_test(cli_parts_test cli/cli_parts_test.cc esgw_cli_lib esgw::test_support)
esgw_unit_test(cli_latency_histogram_test cli/latency_histogram_test.cc esgw::client)

# Integration: the client against in-process gRPC servers on loopback (retries, token, TLS).
esgw_integration_test(cli_client_channel_test cli/client_channel_test.cc esgw::client
  gRPC::grpc++)

# e2e: esgw-cli run as a subprocess against esgw-server and a dev cluster.
add_library(esgw_cli_test_support STATIC cli/cli_runner.cc)
target_include_directories(esgw_cli_test_support PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(esgw_cli_test_support PUBLIC esgw::test_support absl::strings absl::time)
esgw_warnings(esgw_cli_test_support)

function(esgw_cli_e2e_test name)
  add_executable(${name} cli/${name}.cc)
  target_link_libraries(${name} PRIVATE esgw_cli_test_support esgw_e2e_support esgw::proto
    GTest::gmock_main)
  esgw_warnings(${name})
  add_dependencies(${name} esgw-cli esgw-server esgw-devcluster)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS e2e TIMEOUT 180
    ENVIRONMENT "ESGW_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
endfunction()
esgw_cli_e2e_test(cli_e2e_test)
esgw_cli_e2e_test(cli_write_e2e_test)
esgw_cli_e2e_test(cli_tmux_test)
