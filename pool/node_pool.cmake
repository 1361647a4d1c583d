# The node pool's policy: node state, backoff, selection, retries, sniffing and probing
# (pool/node_pool.h and friends). Included by pool/CMakeLists.txt; adds sources to esgw_pool.
target_sources(esgw_pool PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/node.cc
  ${CMAKE_CURRENT_LIST_DIR}/backoff.cc
  ${CMAKE_CURRENT_LIST_DIR}/selector.cc
  ${CMAKE_CURRENT_LIST_DIR}/node_pool.cc
  ${CMAKE_CURRENT_LIST_DIR}/retry_planner.cc
  ${CMAKE_CURRENT_LIST_DIR}/sniff_parser.cc
  ${CMAKE_CURRENT_LIST_DIR}/sniffer.cc
  ${CMAKE_CURRENT_LIST_DIR}/prober.cc
)
target_link_libraries(esgw_pool PUBLIC absl::flat_hash_set absl::span
  PRIVATE simdjson::simdjson)
# We never use simdjson's throwing overloads; make calling one a compile error.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/sniff_parser.cc PROPERTIES
  COMPILE_DEFINITIONS SIMDJSON_EXCEPTIONS=0)
