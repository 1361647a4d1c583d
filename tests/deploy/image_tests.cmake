# The container image (deploy/Dockerfile): the root filesystem scripts/runtime-rootfs.sh writes,
# the Dockerfile's use of it, and, as root, esgw-server run from inside it against a dev cluster.
# Included from tests/CMakeLists.txt.
add_executable(image_rootfs_test deploy/image_rootfs_test.cc)
target_link_libraries(image_rootfs_test PRIVATE esgw_e2e_support esgw::proto
  PkgConfig::ESGW_HTTPLIB GTest::gmock_main)
# The test reads deploy/Dockerfile, .dockerignore and CMakeLists.txt, and runs the script.
target_compile_definitions(image_rootfs_test PRIVATE ESGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
esgw_warnings(image_rootfs_test)
add_dependencies(image_rootfs_test esgw-server esgw-devcluster)
add_test(NAME image_rootfs_test COMMAND image_rootfs_test)
set_tests_properties(image_rootfs_test PROPERTIES LABELS integration TIMEOUT 180
  ENVIRONMENT "ESGW_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
