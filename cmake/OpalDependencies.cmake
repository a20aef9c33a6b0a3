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

# Kernel tuning (src/tune): Halide JIT. Its benchmark (bench/kernels) compares against oneDNN and
# OpenBLAS when they are installed.
find_package(Halide REQUIRED)
# dnnl's CMake config insists on OpenCL (the Debian build enables it): find the library directly.
find_library(OPAL_DNNL_LIBRARY NAMES dnnl)
find_path(OPAL_DNNL_INCLUDE_DIR NAMES dnnl.hpp)
find_package(OpenBLAS CONFIG QUIET)
