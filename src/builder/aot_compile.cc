#include "builder/aot_compile.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "opal/hash.h"
#include "tune/halide_target.h"

namespace opal::build {
namespace fs = std::filesystem;
namespace {

Halide::Target KernelTarget() {
  return tune::HostHalideTarget().with_feature(Halide::Target::NoRuntime);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Copies src to dst through a temporary file, so concurrent builds never see a partial object.
bool CopyAtomically(const std::string& src, const std::string& dst) {
  std::error_code ec;
  const std::string tmp = dst + ".tmp" + std::to_string(getpid());
  fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) return false;
  fs::rename(tmp, dst, ec);
  return !ec;
}

// Compiles one kernel in this process; returns "" or the error's first line.
std::string CompileOne(const CompileJob& job, const std::string& path) {
  try {
    std::vector<Halide::Argument> args;
    for (const Halide::ImageParam& p : job.def->inputs) args.push_back(p);
    Halide::Pipeline pipeline(job.def->outputs);
    pipeline.compile_to({{Halide::OutputFileType::object, path}}, args, job.name, KernelTarget());
  } catch (const Halide::Error& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n', what.find_first_not_of('\n')));
    return what.empty() ? "Halide error" : what;
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

std::string DefaultKernelCacheDir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/opal/kernels";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/opal/kernels";
  return "";
}

std::string KernelCacheKey(const std::string& kernel_description) {
  struct stat st {};
  std::string exe_id = "unknown";
  if (stat("/proc/self/exe", &st) == 0)
    exe_id = fmt::format("{}:{}:{}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return Sha256Hex(KernelTarget().to_string() + "\n" + exe_id + "\n" + kernel_description);
}

Result<CompileOutcome> CompileKernels(const std::vector<CompileJob>& jobs, const CompileOptions& o) {
  std::error_code ec;
  fs::create_directories(o.obj_dir, ec);
  if (!o.cache_dir.empty()) fs::create_directories(o.cache_dir, ec);
  CompileOutcome out;
  std::vector<size_t> todo;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const std::string obj = o.obj_dir + "/" + jobs[i].name + ".o";
    out.objects.push_back(obj);
    const std::string cached = o.cache_dir.empty() ? "" : o.cache_dir + "/" + jobs[i].cache_key + ".o";
    if (!cached.empty() && fs::exists(cached) && CopyAtomically(cached, obj)) {
      ++out.cached;
      continue;
    }
    fs::remove(obj, ec);
    todo.push_back(i);
  }
  // Children compile every jobs-th kernel each; the kernels were lowered before the fork.
  const int n = std::max(1, std::min<int>(o.jobs, static_cast<int>(todo.size())));
  std::vector<pid_t> children;
  for (int c = 0; c < n && !todo.empty(); ++c) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) return Error(ErrorCode::kFailed, "fork failed while compiling kernels");
    if (pid == 0) {
      for (size_t t = static_cast<size_t>(c); t < todo.size(); t += static_cast<size_t>(n)) {
        const CompileJob& job = jobs[todo[t]];
        const std::string obj = out.objects[todo[t]];
        std::string err = CompileOne(job, obj);
        if (!err.empty()) std::ofstream(obj + ".err") << err;
      }
      std::fflush(nullptr);
      _exit(0);
    }
    children.push_back(pid);
  }
  std::string failures;
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      failures += fmt::format("; a compiler process died ({})",
                              WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "non-zero exit");
  }
  int failed = 0;
  for (size_t i : todo) {
    const std::string& obj = out.objects[i];
    if (fs::exists(obj + ".err")) {
      if (++failed <= 5) failures += fmt::format("; {}: {}", jobs[i].name, ReadFile(obj + ".err"));
      fs::remove(obj + ".err", ec);
    } else if (!fs::exists(obj)) {
      if (++failed <= 5) failures += fmt::format("; {}: no object produced", jobs[i].name);
    } else if (!o.cache_dir.empty()) {
      CopyAtomically(obj, o.cache_dir + "/" + jobs[i].cache_key + ".o");
    }
  }
  if (!failures.empty())
    return Error(ErrorCode::kFailed, "{} of {} kernels did not compile{}", failed, todo.size(), failures);
  return out;
}

Result<std::string> CompileHalideRuntime(const CompileOptions& o) {
  std::error_code ec;
  fs::create_directories(o.obj_dir, ec);
  const std::string obj = o.obj_dir + "/halide_runtime.o";
  const Halide::Target t = tune::HostHalideTarget();
  const std::string cached =
      o.cache_dir.empty() ? "" : o.cache_dir + "/runtime-" + Sha256Hex(t.to_string()).substr(0, 16) + ".o";
  if (!cached.empty() && fs::exists(cached) && CopyAtomically(cached, obj)) return obj;
  try {
    Halide::compile_standalone_runtime(obj, t);
  } catch (const Halide::Error& e) {
    return Error(ErrorCode::kFailed, "compiling the Halide runtime failed: {}", e.what());
  }
  if (!cached.empty()) {
    fs::create_directories(o.cache_dir, ec);
    CopyAtomically(obj, cached);
  }
  return obj;
}

}  // namespace opal::build
