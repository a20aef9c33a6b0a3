// A built model's per-kernel time: the folder's manifest (each node's kernel, schedule source and
// config) and `runs` profiled runs on the random inputs `opal run` would use.
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "collect.h"
#include "opal/model_inputs.h"
#include "opal/model_library.h"

namespace opal::report {

Result<Json> CollectModel(const std::string& dir, int runs) {
  std::ifstream in(dir + "/manifest.json");
  if (!in)
    return Error(ErrorCode::kNotFound, "--model {}: no manifest.json; give a folder `opal build -o` wrote", dir);
  std::stringstream text;
  text << in.rdbuf();
  Json manifest = Json::parse(text.str(), nullptr, false);
  if (!manifest.is_object() || manifest.value("format", "") != "opal.build/1")
    return Error(ErrorCode::kInvalidModel, "--model {}: manifest.json is not an opal.build/1 document", dir);

  OPAL_ASSIGN_OR_RETURN(auto lib, runtime::ModelLibrary::Open(dir));
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < lib->inputs().size(); ++i)
    inputs.push_back(runtime::RandomInput(lib->inputs()[i], i));
  std::vector<Tensor> outputs;
  std::vector<double> seconds;
  OPAL_RETURN_IF_ERROR(lib->RunInto(inputs, &outputs));  // warm-up
  runs = std::max(runs, 1);
  for (int r = 0; r < runs; ++r) OPAL_RETURN_IF_ERROR(lib->RunInto(inputs, &outputs, &seconds));
  const std::vector<std::string> steps = lib->StepNodes();

  // The schedule of each node, by name, for the steps (a step is named after its anchor node).
  std::map<std::string, Json> by_node;
  for (const Json& n : manifest["nodes"]) by_node[n.value("node", "")] = n;
  Json kernels = Json::array();
  double total = 0;
  for (double s : seconds) total += s;
  for (size_t i = 0; i < steps.size() && i < seconds.size(); ++i) {
    const std::string& node = steps[i];
    // "anchor" or "anchor+fused..." -- the manifest knows the anchor.
    const std::string anchor = node.substr(0, node.find('+'));
    Json k{{"step", i}, {"node", node}, {"mean_ms", seconds[i] / runs * 1e3},
           {"share", total > 0 ? seconds[i] / total : 0}};
    auto it = by_node.find(anchor);
    if (it == by_node.end()) it = by_node.find(node);
    if (it != by_node.end()) {
      const Json& n = it->second;
      k["op_type"] = n.value("op_type", "");
      k["kind"] = n.value("kind", "");
      k["kernel"] = n.value("kernel", "");
      k["source"] = n.value("source", "-");
      if (n.contains("config")) k["config"] = n["config"];
      if (n.contains("schedule_note")) k["schedule_note"] = n["schedule_note"];
      if (n.contains("expected_s")) k["expected_ms"] = n["expected_s"].get<double>() * 1e3;
      if (n.contains("epilogue")) k["epilogue"] = n["epilogue"];
    }
    kernels.push_back(std::move(k));
  }
  return Json{{"dir", dir},
              {"description", lib->description()},
              {"model", manifest.value("model", "")},
              {"target", manifest.value("target", "")},
              {"runs", runs},
              {"kernels_total_ms", total / runs * 1e3},
              {"kernels", std::move(kernels)}};
}

}  // namespace opal::report
