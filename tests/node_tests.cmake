# End-to-end tests from a Node.js gRPC client against the real esgw-server and esgw-devcluster.
# They need node and the npm packages from `npm ci` in tests/e2e/node (`make node-deps`).
find_program(ESGW_NODE node)
if(ESGW_NODE)
  add_test(NAME node_e2e
    COMMAND ${ESGW_NODE} --test ${PROJECT_SOURCE_DIR}/tests/e2e/node/gateway.test.mjs)
  set_tests_properties(node_e2e PROPERTIES
    ENVIRONMENT "ESGW_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY};ESGW_PROTO_DIR=${PROJECT_SOURCE_DIR}/proto"
    LABELS e2e
    TIMEOUT 120)
else()
  message(STATUS "node not found: the Node.js end-to-end test (node_e2e) is not registered")
endif()
