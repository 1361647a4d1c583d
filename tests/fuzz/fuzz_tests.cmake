# Fuzz targets for the parsers of Elasticsearch bodies, gateway request validation and the files
# esgw reads (tests/fuzz/<name>_fuzz.cc, each with a seed corpus in tests/fuzz/corpus/<name>/).
# Included from tests/CMakeLists.txt after esgw_unit_test is defined.
#
# Every build links each target with replay_main.cc into <name>_fuzz_replay, which runs every
# file of the seed corpus once (ctest label unit), so the corpus is a regression test. With
# ESGW_FUZZ=ON (clang; see the top-level CMakeLists.txt), each is also a libFuzzer binary
# <name>_fuzz, which ctest runs (label fuzz) for ESGW_FUZZ_SECONDS on a temporary copy of its
# corpus; it fails on any crash, failed invariant, leak or timeout, and leaves the input that
# caused it in <build>/fuzz-artifacts/<name>/.
set(ESGW_FUZZ_SECONDS 20 CACHE STRING
  "Seconds each fuzz test (ctest -L fuzz) runs; the environment variable FUZZ_SECONDS overrides it")
set(ESGW_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

# esgw_fuzz_target(<name> [DICT <file>] LIBS <libraries>...)
function(esgw_fuzz_target name)
  cmake_parse_arguments(PARSE_ARGV 1 FUZZ "" "DICT" "LIBS")
  set(source ${ESGW_FUZZ_DIR}/${name}_fuzz.cc)
  set(corpus ${ESGW_FUZZ_DIR}/corpus/${name})

  add_executable(${name}_fuzz_replay ${source} ${ESGW_FUZZ_DIR}/replay_main.cc)
  target_include_directories(${name}_fuzz_replay PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name}_fuzz_replay PRIVATE ${FUZZ_LIBS})
  esgw_warnings(${name}_fuzz_replay)
  add_test(NAME ${name}_fuzz_replay COMMAND ${name}_fuzz_replay ${corpus})
  set_tests_properties(${name}_fuzz_replay PROPERTIES LABELS unit TIMEOUT 60)

  if(ESGW_FUZZ)
    add_executable(${name}_fuzz ${source})
    target_include_directories(${name}_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name}_fuzz PRIVATE ${FUZZ_LIBS})
    target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
    esgw_warnings(${name}_fuzz)
    set(dict "")
    if(FUZZ_DICT)
      set(dict ${ESGW_FUZZ_DIR}/${FUZZ_DICT})
    endif()
    add_test(NAME ${name}_fuzz
      COMMAND ${ESGW_FUZZ_DIR}/run_fuzzer.sh $<TARGET_FILE:${name}_fuzz> ${corpus}
              ${CMAKE_BINARY_DIR}/fuzz-artifacts/${name} ${dict})
    # No TIMEOUT: the run bounds itself (-max_total_time), and FUZZ_SECONDS may make it long;
    # ctest --timeout applies.
    set_tests_properties(${name}_fuzz PROPERTIES LABELS fuzz
      ENVIRONMENT "ESGW_FUZZ_SECONDS=${ESGW_FUZZ_SECONDS}")
  endif()
endfunction()

# Elasticsearch response bodies (server/es_response.h).
esgw_fuzz_target(search_response DICT es_json.dict LIBS esgw::es_response esgw::grpc_status)
esgw_fuzz_target(msearch_response DICT es_json.dict LIBS esgw::es_response esgw::grpc_status)
esgw_fuzz_target(bulk_response DICT es_json.dict LIBS esgw::es_response esgw::grpc_status)
esgw_fuzz_target(small_response DICT es_json.dict LIBS esgw::es_response esgw::grpc_status)
# The pool's readers of Elasticsearch bodies.
esgw_fuzz_target(sniff_parser DICT es_json.dict LIBS esgw::pool)
esgw_fuzz_target(es_error DICT es_json.dict LIBS esgw::pool esgw::grpc_status)
# Gateway request validation: the rules, then whole requests as they arrive over gRPC.
esgw_fuzz_target(validation LIBS esgw::server)
esgw_fuzz_target(read_request LIBS esgw::server)
esgw_fuzz_target(msearch_request LIBS esgw::server)
esgw_fuzz_target(bulk_request LIBS esgw::server)
esgw_fuzz_target(index_references DICT es_json.dict
  LIBS esgw::index_references esgw::grpc_status simdjson::simdjson)
# The operator's files.
esgw_fuzz_target(auth_policy DICT yaml.dict LIBS esgw::server)
esgw_fuzz_target(config_file DICT yaml.dict LIBS esgw::config esgw::pool)
