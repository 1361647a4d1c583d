# Parsers of Elasticsearch response bodies (esgw::es_response) and the single absl::Status ->
# grpc::Status conversion (esgw::grpc_status). Included by server/CMakeLists.txt.
add_library(esgw_es_response STATIC ${CMAKE_CURRENT_LIST_DIR}/es_response.cc)
add_library(esgw::es_response ALIAS esgw_es_response)
target_include_directories(esgw_es_response PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(esgw_es_response PUBLIC esgw::pool esgw::proto simdjson::simdjson)
# es_response.h exposes simdjson types, so every includer agrees: no throwing overloads.
target_compile_definitions(esgw_es_response PUBLIC SIMDJSON_EXCEPTIONS=0)
esgw_warnings(esgw_es_response)

add_library(esgw_grpc_status STATIC ${CMAKE_CURRENT_LIST_DIR}/grpc_status.cc)
add_library(esgw::grpc_status ALIAS esgw_grpc_status)
target_include_directories(esgw_grpc_status PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(esgw_grpc_status PUBLIC esgw::pool esgw::proto gRPC::grpc++)
esgw_warnings(esgw_grpc_status)
