# Every third-party dependency is a Debian package (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
# ONNX's CMake config expects protobuf to be found first.
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)

add_library(opal_onnx INTERFACE)
target_link_libraries(opal_onnx INTERFACE onnx onnx_proto protobuf::libprotobuf)
target_compile_definitions(opal_onnx INTERFACE ONNX_ML=1 ONNX_NAMESPACE=onnx)

if(OPAL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
