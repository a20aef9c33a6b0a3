#include "builder/link.h"

#include "runner/model_link.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace opal::build {
namespace {

// Runs argv, output to `log`; returns the exit status (-1 when it could not start).
int RunLogged(const std::vector<std::string>& argv, const std::string& log) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    if (f) dup2(fileno(stdout), STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s\n", args[0]);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Tail(const std::string& path, size_t max_chars) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_chars ? "..." + s.substr(s.size() - max_chars) : s;
}

}  // namespace

Status LinkModelLibrary(const std::string& program_cc, const std::vector<std::string>& objects,
                        const std::string& out) {
  const std::string log = out + ".link.log";
  const std::string program_o = program_cc.substr(0, program_cc.rfind('.')) + ".o";
  const int cc = RunLogged(runtime::ModelProgramCompileCommand(program_cc, program_o), log);
  if (cc != 0) return Error(ErrorCode::kFailed, "compiling {} failed (exit {}): {}", program_cc, cc, Tail(log, 1500));
  std::vector<std::string> all = {program_o};
  all.insert(all.end(), objects.begin(), objects.end());
  const int rc = RunLogged(runtime::ModelLinkCommand(all, out + ".tmp"), log);
  if (rc != 0) return Error(ErrorCode::kFailed, "linking {} failed (exit {}): {}", out, rc, Tail(log, 1500));
  std::error_code ec;
  std::filesystem::rename(out + ".tmp", out, ec);
  if (ec) return Error(ErrorCode::kIo, "cannot write {}: {}", out, ec.message());
  std::filesystem::remove(log, ec);
  return Status::Ok();
}

}  // namespace opal::build
