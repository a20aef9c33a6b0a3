// opal target [--json] [--target STR]: the device records are made for.
#include <fmt/format.h>

#include <memory>

#include "commands.h"

namespace opal::cli {
namespace {

struct Options {
  bool json = false;
  std::string target;
};

Status Run(const Options& o) {
  OPAL_ASSIGN_OR_RETURN(Target t, ResolveTarget(o.target));
  if (o.json) {
    Json j = t.ToJson();
    j["format"] = "opal.target/1";
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  auto size = [](int64_t b) { return b ? HumanCount(double(b)) + "B" : std::string("?"); };
  fmt::print("kind       {}\n", t.kind);
  fmt::print("arch       {}\n", t.arch);
  fmt::print("model      {}\n", t.model);
  fmt::print("cores      {}\n", t.cores);
  if (t.kind == "cpu") {
    std::string f;
    for (const auto& x : t.features) f += (f.empty() ? "" : " ") + x;
    fmt::print("features   {}\n", f);
    fmt::print("vector     {} bits ({})\n", t.VectorBits(), t.IsaFamily());
    fmt::print("caches     L1d {}  L2 {}  L3 {}\n", size(t.l1d_bytes), size(t.l2_bytes), size(t.l3_bytes));
  } else if (t.memory_bytes) {
    fmt::print("memory     {}\n", size(t.memory_bytes));
  }
  fmt::print("canonical  {}\n", t.CanonicalString());
  fmt::print("exact key  {}\n", t.ExactKey());
  fmt::print("coarse key {}\n", t.CoarseKey());
  return Status::Ok();
}

}  // namespace

void AddTargetCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("target", "Show the target device (detected host, or --target) and its keys");
  sub->add_flag("--json", o->json, "Print JSON (format opal.target/1)");
  sub->add_option("--target", o->target, "Target string instead of the host, e.g. \"cuda arch=sm_90 model='H100'\"");
  sub->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
