# Server reflection v1 (ours) and v1alpha (gRPC's plugin) on a loopback server. It opens
# sockets, so it is an integration test.
add_executable(reflection_test ${CMAKE_CURRENT_LIST_DIR}/server/reflection_test.cc)
target_link_libraries(reflection_test PRIVATE
  esgw::reflection gRPC::grpc++_reflection GTest::gmock_main)
esgw_warnings(reflection_test)
add_test(NAME reflection_test COMMAND reflection_test)
set_tests_properties(reflection_test PROPERTIES LABELS integration TIMEOUT 60)
