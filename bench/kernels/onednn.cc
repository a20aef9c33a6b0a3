#include <random>

#include "baselines.h"
#include "opal/contraction.h"

#ifdef OPAL_HAVE_DNNL
#include <dnnl.hpp>
#endif

namespace opal::bench {

#ifdef OPAL_HAVE_DNNL
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

void FillRandom(memory& m) {
  float* p = static_cast<float*>(m.get_data_handle());
  size_t n = m.get_desc().get_size() / sizeof(float);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (size_t i = 0; i < n; ++i) p[i] = d(rng);
}

class OneDnnKernel : public PeerKernel {
 public:
  void Run() override {
    prim_.execute(stream_, args_);
    stream_.wait();
  }
  std::string Impl() const override { return impl_; }

  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  dnnl::primitive prim_;
  std::unordered_map<int, memory> args_;
  std::string impl_;
};

}  // namespace

std::unique_ptr<PeerKernel> MakeOneDnn(const Workload& w, std::string* why) {
  auto k = std::make_unique<OneDnnKernel>();
  try {
    if (w.op() == "conv2d") {
      const memory::dim N = w.Get("n"), C = w.Get("c"), H = w.Get("h"), W = w.Get("w"),
                        K = w.Get("k");
      const memory::dim G = w.Get("groups"), KH = w.Get("kh"), KW = w.Get("kw");
      const memory::dim OH = tune::ConvOutH(w), OW = tune::ConvOutW(w);
      memory::desc src({N, C, H, W}, dt::f32, tag::any), dst({N, K, OH, OW}, dt::f32, tag::any);
      memory::desc wei(G > 1 ? memory::dims{G, K / G, C / G, KH, KW} : memory::dims{K, C, KH, KW},
                       dt::f32, tag::any);
      dnnl::convolution_forward::desc d(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei, dst,
          {w.Get("stride_h"), w.Get("stride_w")},
          {w.Get("dilation_h") - 1, w.Get("dilation_w") - 1}, {w.Get("pad_top"), w.Get("pad_left")},
          {w.Get("pad_bottom"), w.Get("pad_right")});
      dnnl::convolution_forward::primitive_desc pd(d, k->engine_);
      k->impl_ = pd.impl_info_str();
      k->prim_ = dnnl::convolution_forward(pd);
      memory s(pd.src_desc(), k->engine_), wt(pd.weights_desc(), k->engine_),
          o(pd.dst_desc(), k->engine_);
      FillRandom(s);
      FillRandom(wt);
      k->args_ = {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_DST, o}};
    } else {
      const memory::dim M = w.Get("m"), Nn = w.Get("n"), Kk = w.Get("k");
      memory::desc a, b, c;
      if (w.op() == "dense") {
        bool ta = w.json().at("trans_a").get<bool>(), tb = w.json().at("trans_b").get<bool>();
        a = memory::desc({M, Kk}, dt::f32, ta ? memory::dims{1, M} : memory::dims{Kk, 1});
        b = memory::desc({Kk, Nn}, dt::f32, tb ? memory::dims{1, Kk} : memory::dims{Nn, 1});
        c = memory::desc({M, Nn}, dt::f32, tag::ab);
      } else {
        const memory::dim B = w.Get("batch");
        a = memory::desc({w.json().at("broadcast") == "a" ? 1 : B, M, Kk}, dt::f32, tag::abc);
        b = memory::desc({B, Kk, Nn}, dt::f32, tag::abc);
        c = memory::desc({B, M, Nn}, dt::f32, tag::abc);
      }
      dnnl::matmul::desc d(a, b, c);
      dnnl::matmul::primitive_desc pd(d, k->engine_);
      k->impl_ = pd.impl_info_str();
      k->prim_ = dnnl::matmul(pd);
      memory ma(pd.src_desc(), k->engine_), mb(pd.weights_desc(), k->engine_),
          mc(pd.dst_desc(), k->engine_);
      FillRandom(ma);
      FillRandom(mb);
      k->args_ = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    }
  } catch (const dnnl::error& e) {
    *why = std::string("oneDNN: ") + e.what();
    return nullptr;
  }
  return k;
}
#else
std::unique_ptr<PeerKernel> MakeOneDnn(const Workload&, std::string* why) {
  *why = "built without oneDNN (libdnnl-dev)";
  return nullptr;
}
#endif

}  // namespace opal::bench
