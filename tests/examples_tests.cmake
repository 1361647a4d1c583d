# The client examples in other languages (client/examples/). Included from tests/CMakeLists.txt.
#
# Only the Node.js example runs here: it needs node and the npm packages from `npm ci` in
# client/examples/node (`make node-deps`). The Python and Go examples need packages from PyPI and
# the Go module proxy, which tests cannot fetch.
find_program(ESGW_NODE node)
if(ESGW_NODE)
  # example.test.mjs starts esgw-devcluster and esgw-server from ESGW_BIN_DIR, runs example.mjs
  # against them as a subprocess and checks its exit code and output, then against a closed port.
  add_test(NAME node_example_test
    COMMAND ${ESGW_NODE} --test ${PROJECT_SOURCE_DIR}/client/examples/node/example.test.mjs)
  set_tests_properties(node_example_test PROPERTIES
    ENVIRONMENT "ESGW_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY};ESGW_PROTO_DIR=${PROJECT_SOURCE_DIR}/proto"
    LABELS e2e
    TIMEOUT 120)
else()
  message(STATUS
    "node not found: the Node.js client example test (node_example_test) is not registered")
endif()
