# Unit tests for finding the indices a search body reads besides its targets. Included by
# tests/CMakeLists.txt after esgw_unit_test is defined.
esgw_unit_test(index_references_test server/index_references_test.cc esgw::index_references)
