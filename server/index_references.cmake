# Finds the indices a search body makes Elasticsearch read besides its targets (terms lookup,
# more_like_this, percolate, indexed shapes, pinned docs, lookup runtime fields), for index-level
# authorization. Included by server/CMakeLists.txt.
add_library(esgw_index_references STATIC ${CMAKE_CURRENT_LIST_DIR}/index_references.cc)
add_library(esgw::index_references ALIAS esgw_index_references)
target_include_directories(esgw_index_references PUBLIC ${PROJECT_SOURCE_DIR})
# esgw::pool is public: errors carry its ErrorInfo (INVALID_FIELD), which callers read with it.
target_link_libraries(esgw_index_references
  PUBLIC esgw::pool absl::status absl::statusor absl::strings
  PRIVATE simdjson::simdjson)
# simdjson stays out of the header, so only this library needs the non-throwing API.
target_compile_definitions(esgw_index_references PRIVATE SIMDJSON_EXCEPTIONS=0)
esgw_warnings(esgw_index_references)
