# Modules: every folder of src/ is one module of one or more libraries. A module's headers in its
# folder are private to it, except those it lists as INTERNAL: the internal interface that the
# modules built on it may include (headers that carry Halide or other heavy types and so cannot be
# public). Everything else -- tools, benchmarks, integration tests, fuzzers -- sees only the public
# headers in include/opal, and the compiler enforces it: they get no src/ include path.
# scripts/check_includes.py checks the rest (a module includes only its own headers, public ones,
# and the INTERNAL headers of modules it depends on) from build/opal_modules.json, which the
# functions below fill; scripts/architecture.py draws docs/architecture.md from the same file.

# opal_register_module(NAME FOLDER DIR DEPS ... INTERNAL ...): records a library for the checks.
function(opal_register_module name)
  cmake_parse_arguments(ARG "" "FOLDER" "DEPS;INTERNAL" ${ARGN})
  set(opal_deps "")
  foreach(d ${ARG_DEPS})
    if(d MATCHES "^opal_")
      list(APPEND opal_deps ${d})
    endif()
  endforeach()
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${ARG_FOLDER})
  set_property(GLOBAL APPEND PROPERTY OPAL_MODULES ${name})
  set_property(GLOBAL PROPERTY OPAL_MODULE_${name}_FOLDER ${folder})
  set_property(GLOBAL PROPERTY OPAL_MODULE_${name}_DEPS "${opal_deps}")
  set_property(GLOBAL PROPERTY OPAL_MODULE_${name}_INTERNAL "${ARG_INTERNAL}")
endfunction()

# opal_library(NAME SOURCES ... DEPS ... [INTERNAL header ...]): a static library of one module.
# INTERNAL: headers of this folder (paths relative to it) that dependent modules may include.
function(opal_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;INTERNAL" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/generated
                                     PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  opal_register_module(${name} FOLDER ${CMAKE_CURRENT_SOURCE_DIR} DEPS ${ARG_DEPS} INTERNAL ${ARG_INTERNAL})
endfunction()

# Writes build/opal_modules.json: {"modules": [{"name", "folder", "deps", "internal"}]}.
function(opal_write_module_manifest path)
  get_property(mods GLOBAL PROPERTY OPAL_MODULES)
  set(entries "")
  foreach(m ${mods})
    get_property(folder GLOBAL PROPERTY OPAL_MODULE_${m}_FOLDER)
    get_property(deps GLOBAL PROPERTY OPAL_MODULE_${m}_DEPS)
    get_property(internal GLOBAL PROPERTY OPAL_MODULE_${m}_INTERNAL)
    set(dj "")
    foreach(d ${deps})
      list(APPEND dj "\"${d}\"")
    endforeach()
    set(ij "")
    foreach(h ${internal})
      list(APPEND ij "\"${h}\"")
    endforeach()
    list(JOIN dj ", " dj)
    list(JOIN ij ", " ij)
    list(APPEND entries "    {\"name\": \"${m}\", \"folder\": \"${folder}\", \"deps\": [${dj}], \"internal\": [${ij}]}")
  endforeach()
  list(JOIN entries ",\n" body)
  file(WRITE ${path}.tmp "{\"modules\": [\n${body}\n]}\n")
  configure_file(${path}.tmp ${path} COPYONLY)
endfunction()

# opal_test(NAME SOURCES ... DEPS ... [LABELS ...]): one GoogleTest binary; its tests are
# registered with CTest under the given labels (default: fast). A test beside the code sees its
# module's private headers (src/ on its include path; the include check keeps it to its module).
function(opal_test name)
  if(NOT OPAL_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS fast)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
      OPAL_SOURCE_DIR="${PROJECT_SOURCE_DIR}" OPAL_BINARY_DIR="${PROJECT_BINARY_DIR}")
  file(RELATIVE_PATH here ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  if(here MATCHES "^src/")
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()
