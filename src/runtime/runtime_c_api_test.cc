// The C API of a real model library (opal_rt_test_model: Halide AOT kernels + Halide's runtime +
// test_program.cc + opal_rt), linked directly as an application would (-lmodel).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "opal/runtime.h"
#include "runtime/testdata/test_weights.h"

namespace {

namespace fs = std::filesystem;
using opal_rt_test::ReferenceM;
using opal_rt_test::ReferenceY;

std::string MakeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "opal_rt_test.XXXXXX").string();
  char* d = mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return tmpl;
}

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    opal_rt_test::WriteFile(dir_ + "/weights.bin", opal_rt_test::TestWeightsBytes());
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<float> uf(-1.0f, 1.0f);
    std::uniform_int_distribution<int64_t> ui(-1000000000LL, 1000000000LL);
    for (float& v : x_) v = uf(rng);
    for (int64_t& v : n_) v = ui(rng);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs m on x_/n_ and checks the outputs against the reference.
  void RunAndCheck(opal_model* m) {
    float y[15];
    int64_t out_m[6];
    const void* inputs[] = {x_, n_};
    void* outputs[] = {y, out_m};
    ASSERT_EQ(opal_model_run(m, inputs, outputs), OPAL_OK) << opal_last_error();
    EXPECT_STREQ(opal_last_error(), "");
    for (int i = 0; i < 15; ++i) EXPECT_FLOAT_EQ(y[i], ReferenceY(x_[i], i)) << "y[" << i << "]";
    for (int i = 0; i < 6; ++i) EXPECT_EQ(out_m[i], ReferenceM(n_[i], i)) << "m[" << i << "]";
  }

  std::string dir_;
  float x_[15];
  int64_t n_[6];
};

TEST_F(CApiTest, LoadsAndRunsAgainstTheReference) {
  opal_model* m = nullptr;
  ASSERT_EQ(opal_model_load(dir_.c_str(), 2, &m), OPAL_OK) << opal_last_error();
  ASSERT_NE(m, nullptr);
  EXPECT_STREQ(opal_model_description(m), "runtime_test | host | opal test");
  RunAndCheck(m);
  // Fresh inputs through the same arena: nothing of the first run leaks into the second.
  for (float& v : x_) v = -v * 0.5f;
  for (int64_t& v : n_) v = v / 3 - 11;
  RunAndCheck(m);
  opal_model_free(m);
}

TEST_F(CApiTest, DescribesInputsAndOutputs) {
  opal_model* m = nullptr;
  ASSERT_EQ(opal_model_load(dir_.c_str(), 0, &m), OPAL_OK) << opal_last_error();
  ASSERT_EQ(opal_model_num_inputs(m), 2);
  ASSERT_EQ(opal_model_num_outputs(m), 2);
  opal_tensor_info info{};
  ASSERT_EQ(opal_model_input_info(m, 1, &info), OPAL_OK);
  EXPECT_STREQ(info.name, "n");
  EXPECT_EQ(info.dtype, 7);
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.dims[0], 2);
  EXPECT_EQ(info.dims[1], 3);
  EXPECT_EQ(info.bytes, 48u);
  ASSERT_EQ(opal_model_output_info(m, 0, &info), OPAL_OK);
  EXPECT_STREQ(info.name, "y");
  EXPECT_EQ(info.dtype, 1);
  EXPECT_EQ(info.bytes, 60u);
  EXPECT_EQ(opal_model_output_info(m, 2, &info), OPAL_ERR_ARGUMENT);
  EXPECT_NE(std::string(opal_last_error()).find("output index 2 is out of range"),
            std::string::npos)
      << opal_last_error();
  EXPECT_EQ(opal_model_input_info(m, -1, &info), OPAL_ERR_ARGUMENT);
  EXPECT_EQ(opal_model_run(m, nullptr, nullptr), OPAL_ERR_ARGUMENT);
  EXPECT_EQ(opal_model_run(nullptr, nullptr, nullptr), OPAL_ERR_ARGUMENT);
  opal_model_free(m);
  opal_model_free(nullptr);
}

TEST_F(CApiTest, ConcurrentRunsOnOneModelAreSerialised) {
  opal_model* m = nullptr;
  ASSERT_EQ(opal_model_load(dir_.c_str(), 1, &m), OPAL_OK) << opal_last_error();
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      float x[15], y[15];
      int64_t n[6], out_m[6];
      for (int i = 0; i < 15; ++i) x[i] = 0.01f * static_cast<float>(t * 15 + i);
      for (int i = 0; i < 6; ++i) n[i] = t * 100 + i;
      const void* in[] = {x, n};
      void* out[] = {y, out_m};
      for (int r = 0; r < 200; ++r) {
        if (opal_model_run(m, in, out) != OPAL_OK) ++bad[t];
        for (int i = 0; i < 15; ++i) bad[t] += y[i] != ReferenceY(x[i], i);
        for (int i = 0; i < 6; ++i) bad[t] += out_m[i] != ReferenceM(n[i], i);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(bad[t], 0) << "thread " << t;
  opal_model_free(m);
}

TEST_F(CApiTest, MissingWeightsIsAnIoError) {
  fs::remove(dir_ + "/weights.bin");
  opal_model* m = reinterpret_cast<opal_model*>(1);
  EXPECT_EQ(opal_model_load(dir_.c_str(), 0, &m), OPAL_ERR_IO);
  EXPECT_EQ(m, nullptr);
  const std::string err = opal_last_error();
  EXPECT_NE(err.find("cannot open weights.bin in " + dir_), std::string::npos) << err;
  EXPECT_EQ(opal_model_load(nullptr, 0, &m), OPAL_ERR_ARGUMENT);
}

TEST_F(CApiTest, WrongWeightsSizeNamesBothSizes) {
  auto bytes = opal_rt_test::TestWeightsBytes();
  bytes.push_back(0);
  opal_rt_test::WriteFile(dir_ + "/weights.bin", bytes);
  opal_model* m = nullptr;
  EXPECT_EQ(opal_model_load(dir_.c_str(), 0, &m), OPAL_ERR_IO);
  const std::string err = opal_last_error();
  EXPECT_NE(err.find("weights.bin in " + dir_ +
                     " has 113 bytes, the library expects 112: the "
                     "library and the weights come from different builds"),
            std::string::npos)
      << err;
}

TEST_F(CApiTest, WeightsFromAnotherBuildFailTheHashCheck) {
  auto bytes = opal_rt_test::TestWeightsBytes();
  bytes[70] ^= 0x01;  // one bit of k
  opal_rt_test::WriteFile(dir_ + "/weights.bin", bytes);
  opal_model* m = nullptr;
  EXPECT_EQ(opal_model_load(dir_.c_str(), 0, &m), OPAL_ERR_IO);
  const std::string err = opal_last_error();
  EXPECT_NE(err.find("does not match the library"), std::string::npos) << err;
  EXPECT_NE(err.find("expected 0xf0f3ad77a36f35b7"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);
}

TEST_F(CApiTest, ErrorsAreThreadLocal) {
  fs::remove(dir_ + "/weights.bin");
  opal_model* m = nullptr;
  EXPECT_EQ(opal_model_load(dir_.c_str(), 0, &m), OPAL_ERR_IO);
  std::string other;
  std::thread([&] { other = opal_last_error(); }).join();
  EXPECT_EQ(other, "");
  EXPECT_NE(std::string(opal_last_error()), "");
}

}  // namespace
