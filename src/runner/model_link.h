// How a model library is made: the one recipe that `opal build` and the runtime's tests use.
//
//   CXX -std=c++17 -O1 -fPIC -I OPAL/include -I OPAL/src -c program.cc -o program.o
//   CXX -shared -o DIR/libmodel.so program.o KERNEL.o... halide_runtime.o
//       -Wl,--whole-archive libopal_rt.a -Wl,--no-whole-archive
//       -Wl,--version-script=src/runtime/libmodel.map -Wl,-Bsymbolic -Wl,--no-undefined
//       -Wl,-z,noexecstack -Wl,-z,now -pthread -ldl -lm
//
// The objects must be position-independent (Halide's AOT objects are; program.cc is compiled
// with -fPIC). --whole-archive pulls in the C API (nothing in the objects references it); the
// version script exports only the C API; -Bsymbolic binds the library's own references inside it
// even when another model is loaded in the same process; --no-undefined turns a missing kernel or
// runtime symbol into a link error instead of a dlopen error.
#pragma once

#include <string>
#include <vector>

namespace opal::runtime {

// The C++ compiler opal was built with (used as the linker driver).
std::string ModelLinkerDriver();
// The opal_rt archive and the version script of this opal build (absolute paths).
std::string OpalRtArchive();
std::string ModelVersionScript();

// argv of the command compiling the generated program.cc (data tables only) to an object.
std::vector<std::string> ModelProgramCompileCommand(const std::string& source,
                                                    const std::string& object);

// argv of the link command: ModelLinkerDriver() first. `objects`: program.o, the kernels'
// objects and Halide's standalone runtime object.
std::vector<std::string> ModelLinkCommand(const std::vector<std::string>& objects,
                                          const std::string& output);

}  // namespace opal::runtime
