// RenderReportHtml: the page. The report's JSON and plotly.js are inlined; the script below draws
// every chart with Plotly and builds the tables with DOM text nodes (no HTML from the data).
// When all charts are drawn it sets <body data-charts-expected=N data-charts-rendered=M>, and
// anything written to the console (or an uncaught error) is also appended to #opal-console, so a
// headless browser's dump of the DOM shows both (src/report/report_browser_test.py).
#include <fstream>
#include <sstream>

#include "opal/report.h"

namespace opal {
namespace {

constexpr const char* kHead = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>opal report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 36px; }
.sub { color: #666; margin-top: 4px; } .note { color: #666; font-style: italic; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.config { font-family: monospace; font-size: 12px; max-width: 520px; word-break: break-all; }
.chart { width: 100%; height: 420px; }
#opal-console { display: none; }
</style>
<script>
(function () {
  var log = [];
  window.__opalConsole = log;
  function keep(kind, args) {
    var text = kind + ": " + Array.prototype.map.call(args, String).join(" ");
    log.push(text);
    var el = document.getElementById("opal-console");
    if (el) el.textContent += text + "\n";
  }
  ["log", "info", "warn", "error", "debug"].forEach(function (k) {
    var orig = console[k];
    console[k] = function () { keep(k, arguments); if (orig) orig.apply(console, arguments); };
  });
  window.addEventListener("error", function (e) { keep("uncaught", [e.message]); });
  window.addEventListener("unhandledrejection", function (e) { keep("unhandled", [e.reason]); });
})();
</script>
<script>
)HTML";

constexpr const char* kBody = R"HTML(
</script>
</head><body>
<h1>opal report</h1>
<p class="sub" id="store-line"></p>
<div id="sections"></div>
<pre id="opal-console"></pre>
<script>
(function () {
  var R = JSON.parse(document.getElementById("opal-data").textContent);
  var root = document.getElementById("sections");
  var pending = [];
  var config = { displayModeBar: false, responsive: true };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function section(title, id) {
    var s = el("section"); s.id = id; s.appendChild(el("h2", title)); root.appendChild(s); return s;
  }
  function note(parent, text) { parent.appendChild(el("p", text, "note")); }
  function table(parent, headers, rows, classes) {
    var t = el("table"), tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", h)); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (v, i) { row.appendChild(el("td", v, classes ? classes[i] : "")); });
      t.appendChild(row);
    });
    parent.appendChild(t);
  }
  function chart(parent, id, traces, layout) {
    var d = el("div", null, "chart"); d.id = id; parent.appendChild(d);
    layout.margin = layout.margin || { l: 70, r: 20, t: 40, b: 60 };
    pending.push(Plotly.newPlot(d, traces, layout, config).then(function () {
      d.setAttribute("data-rendered", d.querySelector(".main-svg") ? "1" : "0");
    }));
  }
  function fmt(v, digits) { return v === null || v === undefined ? "-" : Number(v).toFixed(digits); }

  document.getElementById("store-line").textContent =
      "store " + R.store + " - " + R.records.trials + " trials of " + R.records.groups +
      " workload/target pairs";

  // Records per target and op.
  var s = section("Records per target and op", "records");
  var st = R.records.stats;
  if (!st.length) {
    note(s, "The store holds no records yet: opal tune MODEL.onnx fills it.");
  } else {
    table(s, ["target", "op", "records", "valid", "workloads", "best GFLOP/s"],
          st.map(function (r) { return [r.target, r.op, r.records, r.ok_records, r.workloads, fmt(r.best_gflops, 1)]; }),
          ["", "", "num", "num", "num", "num"]);
    var labels = st.map(function (r) { return r.target + " / " + r.op; });
    chart(s, "chart-records", [
      { type: "bar", name: "valid", x: labels, y: st.map(function (r) { return r.ok_records; }) },
      { type: "bar", name: "failed", x: labels, y: st.map(function (r) { return r.records - r.ok_records; }) }
    ], { title: "Records per target and op", barmode: "stack", yaxis: { title: "records" } });
  }

  // Tuning curves.
  s = section("Tuning curves", "curves");
  var curves = R.records.curves;
  if (!curves.length) {
    note(s, "No workload has a valid trial yet.");
  } else {
    note(s, "Best valid time after each trial, per workload and target (the " + curves.length +
         " workloads with the most trials), in the order the trials were stored.");
    chart(s, "chart-curves", curves.map(function (c) {
      return { type: "scatter", mode: "lines", name: c.op + " " + c.workload_key.slice(0, 18),
               x: c.best_ms.map(function (_, i) { return i + 1; }), y: c.best_ms, connectgaps: false };
    }), { title: "Best time vs trials", xaxis: { title: "trial" },
          yaxis: { title: "best median time (ms)", type: "log" } });
  }

  // Cost model.
  s = section("Cost model: predicted vs measured", "costmodel");
  var cm = R.cost_model;
  if (!cm) {
    note(s, "No cost model is registered in this store: opal costmodel train --register NAME, or give --cost-model FILE.");
  } else if (!cm.points.length) {
    note(s, "Cost model " + cm.spec + ": the store has no valid record of its framework version to compare with.");
  } else {
    note(s, "Cost model " + cm.spec + " (" + cm.framework + ", objective " + cm.objective + ", trained on " +
         cm.rows + " trials of " + cm.groups + " workloads). Each point is a stored valid trial: the model's " +
         "score against the measured GFLOP/s relative to the best of its workload and target (the label it learns). " +
         cm.points.length + " of " + cm.records + " records shown.");
    var ops = {};
    cm.points.forEach(function (p) { (ops[p.op] = ops[p.op] || []).push(p); });
    chart(s, "chart-costmodel", Object.keys(ops).map(function (op) {
      return { type: "scatter", mode: "markers", name: op,
               x: ops[op].map(function (p) { return p.measured; }),
               y: ops[op].map(function (p) { return p.predicted; }),
               marker: { size: 5, opacity: 0.6 } };
    }), { title: "Predicted score vs measured relative GFLOP/s", xaxis: { title: "measured GFLOP/s / best of the workload" },
          yaxis: { title: "cost model score" } });
  }

  // Built model.
  if (R.model) {
    var m = R.model;
    s = section("Model " + (m.model || m.dir) + ": time per kernel", "model");
    note(s, m.description + " - " + m.runs + " profiled runs on random inputs, kernels " +
         fmt(m.kernels_total_ms, 3) + " ms per run.");
    var ks = m.kernels.slice().sort(function (a, b) { return b.mean_ms - a.mean_ms; });
    var top = ks.slice(0, 30).reverse();
    var sources = {};
    top.forEach(function (k) { (sources[k.source || "-"] = sources[k.source || "-"] || []).push(k); });
    chart(s, "chart-kernels", Object.keys(sources).map(function (src) {
      return { type: "bar", orientation: "h", name: "schedule: " + src,
               y: sources[src].map(function (k) { return "#" + k.step + " " + k.node.slice(0, 40); }),
               x: sources[src].map(function (k) { return k.mean_ms; }) };
    }), { title: "Slowest kernels (mean ms per run)", height: Math.max(420, 18 * top.length + 120),
          margin: { l: 320, r: 20, t: 40, b: 50 }, xaxis: { title: "ms" },
          yaxis: { categoryorder: "array", categoryarray: top.map(function (k) { return "#" + k.step + " " + k.node.slice(0, 40); }) } });
    table(s, ["step", "node", "op", "kind", "ms", "share", "schedule source", "stored ms", "schedule"],
          ks.map(function (k) {
            var cfg = k.config ? JSON.stringify(k.config) : "";
            if (k.schedule_note) cfg += (cfg ? " - " : "") + k.schedule_note;
            return [k.step, k.node, k.op_type || "", k.kind || "", fmt(k.mean_ms, 3),
                    fmt(100 * k.share, 1) + "%", k.source || "-", k.expected_ms ? fmt(k.expected_ms, 3) : "-", cfg];
          }), ["num", "", "", "", "num", "num", "", "num", "config"]);
  }

  // Plan.
  if (R.plan) {
    var p = R.plan;
    s = section("Plan " + p.model + " (" + p.goal + ")", "plan");
    note(s, "Best plan: " + fmt(p.best.iteration_s, 3) + " s per iteration on " + p.best.gpus + " GPUs, $" +
         fmt(p.best.price_per_hour, 2) + "/hour; simulated iteration " + fmt(p.simulated_iteration_s, 3) + " s.");
    table(s, ["stage", "layers", "GPU", "GPUs", "tp", "dp", "memory GB", "times from"],
          p.stages.map(function (x, i) { return [i, x.layers[0] + "-" + (x.layers[1] - 1), x.gpu, x.gpus, x.tp, x.dp,
                                                  fmt(x.memory_gb, 1), x.source]; }),
          ["num", "", "", "num", "num", "num", "num", ""]);
    var kinds = {};
    p.events.forEach(function (e) { (kinds[e.kind] = kinds[e.kind] || []).push(e); });
    chart(s, "chart-timeline", Object.keys(kinds).map(function (k) {
      return { type: "bar", orientation: "h", name: k,
               y: kinds[k].map(function (e) { return "stage " + e.stage; }),
               x: kinds[k].map(function (e) { return e.end_s - e.start_s; }),
               base: kinds[k].map(function (e) { return e.start_s; }),
               text: kinds[k].map(function (e) { return e.micro_batch >= 0 ? String(e.micro_batch) : ""; }),
               hovertemplate: k + " %{text}: %{base:.3f} s + %{x:.3f} s<extra></extra>" };
    }), { title: "Pipeline timeline of one iteration (1F1B, simulated)", barmode: "overlay",
          xaxis: { title: "seconds" }, yaxis: { autorange: "reversed" } });
    var pts = [{ name: "best plan", data: [p.best], symbol: "star", size: 14 },
               { name: "Pareto front", data: p.pareto, symbol: "circle", size: 9 },
               { name: "best homogeneous per GPU", data: p.homogeneous, symbol: "x", size: 10 }];
    chart(s, "chart-pareto", pts.filter(function (q) { return q.data.length; }).map(function (q) {
      return { type: "scatter", mode: q.name === "Pareto front" ? "lines+markers" : "markers", name: q.name,
               x: q.data.map(function (d) { return d.iteration_s; }),
               y: q.data.map(function (d) { return d.cost_per_iteration; }),
               text: q.data.map(function (d) { return d.label + ", " + d.gpus + " GPUs"; }),
               marker: { symbol: q.symbol, size: q.size } };
    }), { title: "Time / cost per iteration", xaxis: { title: "seconds per iteration" },
          yaxis: { title: "USD per iteration" } });
  }

  document.body.setAttribute("data-charts-expected", String(pending.length));
  Promise.all(pending).then(function () {
    var n = document.querySelectorAll('.chart[data-rendered="1"]').length;
    document.body.setAttribute("data-charts-rendered", String(n));
  }, function (e) { console.error("a chart failed: " + e); });
})();
</script>
</body></html>
)HTML";

}  // namespace

Result<std::string> RenderReportHtml(const Json& report, const std::string& plotly_js) {
  std::ifstream in(plotly_js, std::ios::binary);
  if (!in)
    return Error(ErrorCode::kNotFound,
                 "cannot read plotly.js at {}: install Debian's python3-plotly (scripts/install-deps.sh) "
                 "or give --plotly FILE",
                 plotly_js);
  std::stringstream js;
  js << in.rdbuf();
  // Inside <script>, "</script" would end the element early. In the JSON "</" can only be in a
  // string, where "<\/" means the same; the library is searched for the closing tag itself.
  auto guard = [](std::string s, const std::string& what) {
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 3)) s.replace(p, 2, "<\\/");
    return s;
  };
  std::string html = kHead;
  html += guard(js.str(), "</script");
  html += "\n</script>\n<script type=\"application/json\" id=\"opal-data\">";
  html += guard(report.dump(), "</");
  html += kBody;
  return html;
}

}  // namespace opal
