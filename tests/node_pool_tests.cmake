# Unit tests for the node pool's policy (pool/node_pool.h and friends), plus the (not ctest-run)
# pool benchmark. Included at the end of tests/CMakeLists.txt, after esgw_unit_test is defined.
foreach(name backoff_test node_pool_test selector_test retry_planner_test sniff_parser_test
             sniffer_test prober_test)
  esgw_unit_test(${name} ${CMAKE_CURRENT_LIST_DIR}/pool/${name}.cc esgw::pool)
endforeach()
# Fixtures are read from the source tree.
target_compile_definitions(sniff_parser_test PRIVATE ESGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

find_package(benchmark CONFIG QUIET)
if(benchmark_FOUND)
  add_executable(esgw_pool_bench ${PROJECT_SOURCE_DIR}/bench/pool_bench.cc)
  target_include_directories(esgw_pool_bench PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(esgw_pool_bench PRIVATE esgw::pool benchmark::benchmark)
  esgw_warnings(esgw_pool_bench)
endif()
