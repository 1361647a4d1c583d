# Unit tests for the Elasticsearch response parsers, the ES error mapping and the gRPC status
# conversion, plus the (not ctest-run) parser benchmark. Included by tests/CMakeLists.txt.
function(esgw_parsers_unit_test name source)
  add_executable(${name} ${CMAKE_CURRENT_LIST_DIR}/${source})
  target_link_libraries(${name} PRIVATE ${ARGN} GTest::gmock_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  # Fixtures are read from the source tree.
  target_compile_definitions(${name} PRIVATE ESGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  esgw_warnings(${name})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 60)
endfunction()

esgw_parsers_unit_test(esgw_es_error_test pool/es_error_test.cc esgw::pool)
esgw_parsers_unit_test(esgw_es_response_test server/es_response_test.cc esgw::es_response)
esgw_parsers_unit_test(esgw_grpc_status_test server/grpc_status_test.cc esgw::grpc_status)

find_package(benchmark CONFIG QUIET)
if(benchmark_FOUND)
  add_executable(esgw_es_response_bench ${CMAKE_CURRENT_LIST_DIR}/server/es_response_bench.cc)
  target_link_libraries(esgw_es_response_bench PRIVATE esgw::es_response benchmark::benchmark)
  esgw_warnings(esgw_es_response_bench)
endif()
