# End-to-end tests from a Node.js gRPC client against the real esgw-server and esgw-devcluster.
# They need node and the npm packages from `npm ci` in tests/e2e/node (`make node-deps`);
# node_security_e2e also needs the openssl command, with which it makes its certificates.
find_program(ESGW_NODE node)
if(ESGW_NODE)
  # Runs tests/e2e/node/<file> with node's test runner.
  function(esgw_node_e2e_test name file)
    add_test(NAME ${name}
      COMMAND ${ESGW_NODE} --test ${PROJECT_SOURCE_DIR}/tests/e2e/node/${file})
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT "ESGW_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY};ESGW_PROTO_DIR=${PROJECT_SOURCE_DIR}/proto"
      LABELS e2e
      TIMEOUT 120)
  endfunction()
  esgw_node_e2e_test(node_e2e gateway.test.mjs)
  esgw_node_e2e_test(node_security_e2e security.test.mjs)
else()
  message(STATUS
    "node not found: the Node.js end-to-end tests (node_e2e, node_security_e2e) are not registered")
endif()
