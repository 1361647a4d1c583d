# deploy/k8s and deploy/compose.yaml against the Kubernetes API schemas, each other and
# esgw-server itself. Needs node and the npm packages from `npm ci` in tests/deploy
# (`make node-deps`).
find_program(ESGW_NODE node)
if(ESGW_NODE)
  add_test(NAME deploy_manifests_test
    COMMAND ${ESGW_NODE} --test ${PROJECT_SOURCE_DIR}/tests/deploy/manifests.test.mjs)
  set_tests_properties(deploy_manifests_test PROPERTIES
    ENVIRONMENT "ESGW_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY};ESGW_PROTO_DIR=${PROJECT_SOURCE_DIR}/proto"
    LABELS integration
    TIMEOUT 180)
else()
  message(STATUS "node not found: the deploy manifest test (deploy_manifests_test) is not registered")
endif()
