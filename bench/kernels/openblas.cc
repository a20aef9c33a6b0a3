#include <random>
#include <vector>

#include "baselines.h"
#include "opal/contraction.h"
#include "opal/tuning_kernel.h"

#ifdef OPAL_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace opal::bench {

#ifdef OPAL_HAVE_OPENBLAS
namespace {

class OpenBlasKernel : public PeerKernel {
 public:
  explicit OpenBlasKernel(const Workload& w) : w_(w), in_(RandomInputs(w, 2)) {
    tune::OperandShapes s = tune::OperandsOf(w);
    out_ = std::make_unique<tune::AlignedFloats>(tune::NumElements(s.output));
    if (w.op() == "conv2d") {
      const tune::Contraction c = tune::ContractionOf(w);
      if (!c.b_direct) col_ = std::make_unique<tune::AlignedFloats>(c.nr * c.nx);
    }
  }

  std::string Impl() const override { return w_.op() == "conv2d" ? "im2col+sgemm" : "sgemm"; }

  void Run() override {
    if (w_.op() == "dense") {
      const int m = int(w_.Get("m")), n = int(w_.Get("n")), k = int(w_.Get("k"));
      bool ta = w_.json().at("trans_a").get<bool>(), tb = w_.json().at("trans_b").get<bool>();
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                  n, k, 1.f, in_[0].data(), ta ? m : k, in_[1].data(), tb ? k : n, 0.f,
                  out_->data(), n);
    } else if (w_.op() == "batch_matmul") {
      const int m = int(w_.Get("m")), n = int(w_.Get("n")), k = int(w_.Get("k"));
      const bool shared = w_.json().at("broadcast") == "a";
      for (int64_t b = 0; b < w_.Get("batch"); ++b) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f,
                    in_[0].data() + (shared ? 0 : b * m * k), k, in_[1].data() + b * k * n, n, 0.f,
                    out_->data() + b * m * n, n);
      }
    } else {
      Conv();
    }
  }

 private:
  void Conv() {
    const tune::Contraction c = tune::ContractionOf(w_);
    const int64_t G = w_.Get("groups"), C = w_.Get("c"), H = w_.Get("h"), W = w_.Get("w");
    const int64_t KH = w_.Get("kh"), KW = w_.Get("kw"), OH = tune::ConvOutH(w_),
                  OW = tune::ConvOutW(w_);
    const int64_t cg = C / G;
    const int64_t sh = w_.Get("stride_h"), sw = w_.Get("stride_w"), dh = w_.Get("dilation_h"),
                  dw = w_.Get("dilation_w");
    const int64_t pt = w_.Get("pad_top"), pl = w_.Get("pad_left");
    for (int64_t img = 0; img < w_.Get("n"); ++img) {
      for (int64_t g = 0; g < G; ++g) {
        const float* x = in_[0].data() + (img * C + g * cg) * H * W;
        const float* b = x;
        if (col_) {
          float* col = col_->data();
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < KH; ++ky)
              for (int64_t kx = 0; kx < KW; ++kx) {
                float* row = col + ((ci * KH + ky) * KW + kx) * OH * OW;
                for (int64_t oy = 0; oy < OH; ++oy) {
                  const int64_t iy = oy * sh + ky * dh - pt;
                  for (int64_t ox = 0; ox < OW; ++ox) {
                    const int64_t ix = ox * sw + kx * dw - pl;
                    row[oy * OW + ox] =
                        (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[(ci * H + iy) * W + ix] : 0.f;
                  }
                }
              }
          b = col;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(c.ny), int(c.nx), int(c.nr), 1.f,
                    in_[1].data() + g * c.ny * c.nr, int(c.nr), b, int(c.nx), 0.f,
                    out_->data() + (img * G + g) * c.ny * c.nx, int(c.nx));
      }
    }
  }

  Workload w_;
  std::vector<tune::AlignedFloats> in_;
  std::unique_ptr<tune::AlignedFloats> out_, col_;
};

}  // namespace

std::unique_ptr<PeerKernel> MakeOpenBlas(const Workload& w, std::string* why) {
  return std::make_unique<OpenBlasKernel>(w);
}
#else
std::unique_ptr<PeerKernel> MakeOpenBlas(const Workload&, std::string* why) {
  *why = "built without OpenBLAS";
  return nullptr;
}
#endif

}  // namespace opal::bench
