# Elasticsearch error bodies -> EsError -> absl::Status (pool/es_error.h). Included by
# pool/CMakeLists.txt; adds one source to esgw_pool and the JSON parser it needs.
target_sources(esgw_pool PRIVATE ${CMAKE_CURRENT_LIST_DIR}/es_error.cc)
target_link_libraries(esgw_pool PRIVATE simdjson::simdjson)
# We never use simdjson's throwing overloads; make calling one a compile error.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/es_error.cc PROPERTIES
  COMPILE_DEFINITIONS SIMDJSON_EXCEPTIONS=0)
