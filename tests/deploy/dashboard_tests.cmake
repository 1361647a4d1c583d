# The Grafana dashboard in deploy/grafana/: its JSON model is checked for structure, and every
# metric and label its PromQL uses is checked against what the built esgw-server serves on
# /metrics in front of a dev cluster (so it starts both, like the e2e tests).
find_package(nlohmann_json 3 CONFIG REQUIRED)
add_executable(dashboard_test deploy/dashboard_test.cc)
target_compile_definitions(dashboard_test PRIVATE ESGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(dashboard_test PRIVATE esgw_e2e_support esgw::proto
  nlohmann_json::nlohmann_json GTest::gmock_main)
esgw_warnings(dashboard_test)
add_test(NAME dashboard_test COMMAND dashboard_test)
set_tests_properties(dashboard_test PROPERTIES LABELS e2e TIMEOUT 120
  ENVIRONMENT "ESGW_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
