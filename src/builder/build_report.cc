#include "opal/build.h"

namespace opal {

Json BuildReport::ToJson() const {
  Json nodes = Json::array();
  for (const BuiltNode& n : this->nodes) {
    Json j = {{"node", n.node}, {"op_type", n.op_type}, {"kind", n.kind}, {"kernel", n.kernel}};
    if (!n.workload_key.empty()) {
      j["workload_key"] = n.workload_key;
      j["source"] = ScheduleSourceName(n.source);
      j["expected_s"] = n.expected_s;
      if (!n.schedule_note.empty()) j["schedule_note"] = n.schedule_note;
      if (!n.config.empty()) j["config"] = Json::parse(n.config);
    }
    if (!n.epilogue.empty()) j["epilogue"] = n.epilogue;
    if (!n.fused_into.empty()) j["fused_into"] = n.fused_into;
    nodes.push_back(std::move(j));
  }
  return Json{{"format", "opal.build/1"},
              {"model", model},
              {"target", target},
              {"kernels", kernels},
              {"kernels_cached", kernels_cached},
              {"arena_bytes", arena_bytes},
              {"arena_naive_bytes", arena_naive_bytes},
              {"weights_bytes", weights_bytes},
              {"random_weights", random_weights},
              {"phase_s", phase_s},
              {"total_s", total_s},
              {"nodes", nodes}};
}

}  // namespace opal
