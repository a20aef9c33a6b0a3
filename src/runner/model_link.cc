#include "runner/model_link.h"

namespace opal::runtime {

std::string ModelLinkerDriver() { return OPAL_RT_CXX; }
std::string OpalRtArchive() { return OPAL_RT_ARCHIVE; }
std::string ModelVersionScript() { return OPAL_RT_VERSION_SCRIPT; }

std::vector<std::string> ModelProgramCompileCommand(const std::string& source,
                                                    const std::string& object) {
  return {ModelLinkerDriver(), "-std=c++17", "-O1",  "-fPIC", "-I",  OPAL_RT_INCLUDE_DIR, "-I",
          OPAL_RT_SRC_DIR,     "-c",         source, "-o",    object};
}

std::vector<std::string> ModelLinkCommand(const std::vector<std::string>& objects,
                                          const std::string& output) {
  std::vector<std::string> argv = {ModelLinkerDriver(), "-shared", "-o", output};
  argv.insert(argv.end(), objects.begin(), objects.end());
  argv.push_back("-Wl,--whole-archive");
  argv.push_back(OpalRtArchive());
  argv.push_back("-Wl,--no-whole-archive");
  argv.push_back("-Wl,--version-script=" + ModelVersionScript());
  for (const char* a : {"-Wl,-Bsymbolic", "-Wl,--no-undefined", "-Wl,-z,noexecstack", "-Wl,-z,now",
                        "-pthread", "-ldl", "-lm"}) {
    argv.push_back(a);
  }
  return argv;
}

}  // namespace opal::runtime
