// The loader class on real model libraries (copies of the test model in temporary folders), and
// the link recipe of model_link.h run for real.
#include "opal/model_library.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "runner/model_link.h"
#include "runtime/testdata/test_weights.h"

namespace opal::runtime {
namespace {

namespace fs = std::filesystem;
using opal_rt_test::ReferenceM;
using opal_rt_test::ReferenceY;

std::string MakeModelDir(const std::string& library) {
  std::string tmpl = (fs::temp_directory_path() / "opal_runner_test.XXXXXX").string();
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  if (!library.empty()) fs::copy_file(library, tmpl + "/libmodel.so");
  opal_rt_test::WriteFile(tmpl + "/weights.bin", opal_rt_test::TestWeightsBytes());
  return tmpl;
}

std::vector<Tensor> RandomInputs(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uf(-1.0f, 1.0f);
  std::uniform_int_distribution<int64_t> ui(-(1LL << 40), 1LL << 40);
  Tensor x(DType::kFloat32, {3, 5}), n(DType::kInt64, {2, 3});
  for (int i = 0; i < 15; ++i) x.data<float>()[i] = uf(rng);
  for (int i = 0; i < 6; ++i) n.data<int64_t>()[i] = ui(rng);
  return {x, n};
}

void ExpectReference(const std::vector<Tensor>& in, const std::vector<Tensor>& out) {
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[0].dtype(), DType::kFloat32);
  ASSERT_EQ(out[0].shape(), (Shape{3, 5}));
  ASSERT_EQ(out[1].dtype(), DType::kInt64);
  ASSERT_EQ(out[1].shape(), (Shape{2, 3}));
  for (int i = 0; i < 15; ++i) {
    EXPECT_FLOAT_EQ(out[0].data<float>()[i], ReferenceY(in[0].data<float>()[i], i));
  }
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(out[1].data<int64_t>()[i], ReferenceM(in[1].data<int64_t>()[i], i));
  }
}

class ModelLibraryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& d : dirs_) fs::remove_all(d);
  }
  std::string Dir(const std::string& library) {
    dirs_.push_back(MakeModelDir(library));
    return dirs_.back();
  }
  std::vector<std::string> dirs_;
};

TEST_F(ModelLibraryTest, OpensDescribesAndRuns) {
  auto m = ModelLibrary::Open(Dir(OPAL_RT_TEST_MODEL), 2);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ModelLibrary& lib = **m;
  EXPECT_EQ(lib.description(), "runtime_test | host | opal test");
  ASSERT_EQ(lib.inputs().size(), 2u);
  EXPECT_EQ(lib.inputs()[0].name, "x");
  EXPECT_EQ(lib.inputs()[0].dtype, DType::kFloat32);
  EXPECT_EQ(lib.inputs()[0].shape, (Shape{3, 5}));
  EXPECT_EQ(lib.inputs()[1].dtype, DType::kInt64);
  ASSERT_EQ(lib.outputs().size(), 2u);
  EXPECT_EQ(lib.outputs()[1].name, "m");
  EXPECT_EQ(lib.outputs()[1].bytes, 48u);
  for (uint64_t seed : {1, 2, 3}) {
    auto in = RandomInputs(seed);
    auto out = lib.Run(in);
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectReference(in, *out);
  }
}

TEST_F(ModelLibraryTest, TwoCopiesLiveSideBySide) {
  auto a = ModelLibrary::Open(Dir(OPAL_RT_TEST_MODEL), 1);
  auto b = ModelLibrary::Open(Dir(OPAL_RT_TEST_MODEL), 0);
  ASSERT_TRUE(a.ok() && b.ok());
  auto in = RandomInputs(7);
  std::vector<Tensor> out_a, out_b;
  ASSERT_TRUE((*a)->RunInto(in, &out_a).ok());
  ASSERT_TRUE((*b)->RunInto(in, &out_b).ok());
  ExpectReference(in, out_a);
  ExpectReference(in, out_b);
  const uint8_t* before = out_a[0].raw();
  ASSERT_TRUE((*a)->RunInto(RandomInputs(8), &out_a).ok());
  EXPECT_EQ(out_a[0].raw(), before);  // reused, not reallocated
}

TEST_F(ModelLibraryTest, InputsMustMatchTheModel) {
  auto m = ModelLibrary::Open(Dir(OPAL_RT_TEST_MODEL));
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto in = RandomInputs(1);
  in[0] = Tensor(DType::kFloat32, {5, 3});
  auto out = (*m)->Run(in);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "input 'x' must be float32 3x5, got float32 5x3");
  in.pop_back();
  EXPECT_EQ((*m)->Run(in).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(ModelLibraryTest, KernelErrorNamesTheNode) {
  auto m = ModelLibrary::Open(Dir(OPAL_RT_TEST_BAD_MODEL));
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto out = (*m)->Run(RandomInputs(1));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kFailed);
  const std::string& msg = out.status().message();
  EXPECT_NE(msg.find("step 2 (node 'Mul_Add_m') failed: Halide error"), std::string::npos) << msg;
  // Halide's own text: n (the kernel's input "a") is read at 5, beyond its extent of 5.
  EXPECT_NE(msg.find("Input buffer a"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST_F(ModelLibraryTest, ClearErrorsForBrokenFolders) {
  auto r = ModelLibrary::Open("/nonexistent/opal-model");
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos);

  const std::string empty = Dir("");
  r = ModelLibrary::Open(empty);
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.status().message().find("has no libmodel.so"), std::string::npos);

  std::ofstream(empty + "/libmodel.so") << "not a library";
  r = ModelLibrary::Open(empty);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidModel);
  EXPECT_NE(r.status().message().find("cannot load " + empty + "/libmodel.so: "), std::string::npos)
      << r.status().message();

  // A real shared library that is not a model: libm.
  Dl_info info{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(static_cast<double (*)(double)>(&::cos)), &info), 0);
  fs::copy_file(info.dli_fname, empty + "/libmodel.so", fs::copy_options::overwrite_existing);
  r = ModelLibrary::Open(empty);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidModel);
  EXPECT_NE(r.status().message().find("does not export opal_model_load"), std::string::npos)
      << r.status().message();

  const std::string dir = Dir(OPAL_RT_TEST_MODEL);
  opal_rt_test::WriteFile(dir + "/weights.bin", std::vector<uint8_t>(100, 0));
  r = ModelLibrary::Open(dir);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidModel);
  EXPECT_NE(r.status().message().find("has 100 bytes, the library expects 112"), std::string::npos)
      << r.status().message();
  fs::remove(dir + "/weights.bin");
  r = ModelLibrary::Open(dir);
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
}

// The recipe that `opal build` uses, applied to the test program and kernels: the result loads,
// runs, and exports the C API only.
TEST_F(ModelLibraryTest, BuildRecipeMakesALoadableModel) {
  const std::string dir = Dir("");
  auto shell = [](const std::vector<std::string>& argv) {
    std::string cmd;
    for (const std::string& a : argv) cmd += "'" + a + "' ";
    return cmd;
  };
  const std::string compile =
      shell(ModelProgramCompileCommand(OPAL_RT_TEST_PROGRAM, dir + "/program.o"));
  ASSERT_EQ(std::system(compile.c_str()), 0) << compile;
  const std::string kernels = OPAL_RT_TEST_KERNEL_DIR;
  const std::string link =
      shell(ModelLinkCommand({dir + "/program.o", kernels + "/axpb_f32.o", kernels + "/axpb_i64.o",
                              kernels + "/halide_runtime.o"},
                             dir + "/libmodel.so"));
  ASSERT_EQ(std::system(link.c_str()), 0) << link;

  auto m = ModelLibrary::Open(dir, 1);
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto in = RandomInputs(5);
  auto out = (*m)->Run(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectReference(in, *out);

  void* h = dlopen((dir + "/libmodel.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr);
  EXPECT_NE(dlsym(h, "opal_model_run"), nullptr);
  EXPECT_EQ(dlsym(h, "opal_program"), nullptr);            // the program tables stay inside
  EXPECT_EQ(dlsym(h, "halide_set_num_threads"), nullptr);  // so does Halide's runtime
  EXPECT_EQ(dlsym(h, "axpb_f32_argv"), nullptr);
  dlclose(h);
}

}  // namespace
}  // namespace opal::runtime
