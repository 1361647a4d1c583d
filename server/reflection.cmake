# gRPC server reflection v1 (grpc.reflection.v1.ServerReflection), answered from the generated
# descriptor pool. v1alpha comes from gRPC's own plugin (gRPC::grpc++_reflection).
add_library(esgw_reflection STATIC
  ${CMAKE_CURRENT_LIST_DIR}/reflection_service.cc
  ${CMAKE_CURRENT_LIST_DIR}/reflection_service.h
)
add_library(esgw::reflection ALIAS esgw_reflection)
target_include_directories(esgw_reflection PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(esgw_reflection PUBLIC esgw::proto gRPC::grpc++ protobuf::libprotobuf)
esgw_warnings(esgw_reflection)
