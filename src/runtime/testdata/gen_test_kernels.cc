// Build-time generator for the runtime's tests: AOT-compiles, for the host, Halide's standalone
// runtime and two tiny kernels with Target::NoRuntime, as `opal build` does for a real model.
//   axpb_f32(a, b) -> out   2-D float32   out(x, y) = a(x, y) * 2 + b(x, y), rows in parallel
//   axpb_i64(a, b) -> out   1-D int64     out(x) = a(x) * 3 + b(x)
// Usage: gen_test_kernels OUT_DIR. Writes halide_runtime.o, axpb_f32.{o,h}, axpb_i64.{o,h} and
// fails unless each header declares NAME_argv (the entry point the executor calls).
#include <Halide.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace {

using namespace Halide;

bool Compile(Func out, const std::vector<Argument>& args, const std::string& name,
             const std::string& dir, const Target& target) {
  const std::string obj = dir + "/" + name + ".o", header = dir + "/" + name + ".h";
  Pipeline(out).compile_to({{OutputFileType::object, obj}, {OutputFileType::c_header, header}},
                           args, name, target);
  std::ifstream in(header);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("int " + name + "_argv(void **args)") == std::string::npos) {
    std::fprintf(stderr, "gen_test_kernels: %s declares no %s_argv\n", header.c_str(),
                 name.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gen_test_kernels OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const Target host = get_host_target();
  const Target kernel_target = host.with_feature(Target::NoRuntime);

  ImageParam fa(Float(32), 2, "a"), fb(Float(32), 2, "b");
  Var x("x"), y("y");
  Func f("axpb_f32");
  f(x, y) = fa(x, y) * 2.0f + fb(x, y);
  f.parallel(y);  // rows on Halide's thread pool: the runtime object's halide_do_par_for
  if (!Compile(f, {fa, fb}, "axpb_f32", dir, kernel_target)) return 1;

  ImageParam ia(Int(64), 1, "a"), ib(Int(64), 1, "b");
  Func g("axpb_i64");
  g(x) = ia(x) * 3 + ib(x);
  if (!Compile(g, {ia, ib}, "axpb_i64", dir, kernel_target)) return 1;

  compile_standalone_runtime(dir + "/halide_runtime.o", host);
  return 0;
}
