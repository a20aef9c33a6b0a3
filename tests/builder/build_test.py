#!/usr/bin/python3
"""End-to-end tests of `opal build` and `opal run`: models built into libmodel.so, run through the
runtime's C API, and compared with an independent computation (PyTorch, or the outputs PyTorch
recorded in the shared models' test_data_set_0). Also the error paths.

usage: build_test.py OPAL_BINARY SHARED_MODELS_DIR
"""
import json
import sqlite3
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OPAL = None
MODELS = None


def run(*args, timeout=600):
    return subprocess.run([OPAL, *args], capture_output=True, text=True, timeout=timeout)


def rel_error(got, want):
    scale = max(float(np.abs(want).max()), 1e-6)
    return float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max()) / scale


class Build(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def build_and_run(self, model_path, inputs, extra=()):
        out = os.path.join(self.d, "built")
        r = run("build", model_path, "-o", out, "--no-store", *extra)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        args = ["run", out, "--output-dir", os.path.join(self.d, "outs"), "--threads", "2"]
        for name, arr in inputs.items():
            p = os.path.join(self.d, name.replace("/", "_") + ".pb")
            onnx.save_tensor(numpy_helper.from_array(arr, name), p)
            args += ["--input", f"{name}={p}"]
        r = run(*args)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        return out

    def output(self, name):
        return numpy_helper.to_array(onnx.load_tensor(os.path.join(self.d, "outs", name + ".pb")))

    def test_fused_convs_and_matmul_match_pytorch(self):
        rng = np.random.default_rng(0)
        w1 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
        b1 = rng.standard_normal(8).astype(np.float32)
        w2 = rng.standard_normal((8, 4, 1, 1)).astype(np.float32)  # grouped 1x1
        m = rng.standard_normal((10, 5)).astype(np.float32)
        inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (m, "m"))]
        inits.append(numpy_helper.from_array(np.array([-1, 10], dtype=np.int64), "shape"))
        nodes = [
            helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[1, 1]),
            helper.make_node("Relu", ["c1"], ["r1"]),
            helper.make_node("Conv", ["r1", "w2"], ["c2"], group=2),
            helper.make_node("Add", ["c2", "r1"], ["a"]),
            helper.make_node("Clip", ["a", "lo", "hi"], ["y"]),
            helper.make_node("Reshape", ["y", "shape"], ["y2"]),
            helper.make_node("MatMul", ["y2", "m"], ["z"]),
        ]
        inits += [numpy_helper.from_array(np.array(0, np.float32), "lo"),
                  numpy_helper.from_array(np.array(6, np.float32), "hi")]
        g = helper.make_graph(nodes, "fused", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 9, 10])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], inits)
        path = os.path.join(self.d, "fused.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        x = rng.standard_normal((1, 3, 9, 10)).astype(np.float32)
        self.build_and_run(path, {"x": x})
        t = torch.from_numpy
        r1 = F.relu(F.conv2d(t(x), t(w1), t(b1), padding=1))
        y = torch.clamp(F.conv2d(r1, t(w2), groups=2) + r1, 0, 6)
        want = (y.reshape(-1, 10) @ t(m)).numpy()
        got = self.output("z")
        self.assertEqual(got.shape, want.shape)
        self.assertLess(rel_error(got, want), 1e-5)

        # The element-wise nodes run inside the convs' kernels: Relu in the first, Add and Clip in
        # the second; the manifest says so.
        out = os.path.join(self.d, "built")
        manifest = json.load(open(os.path.join(out, "manifest.json")))
        fused = {n["op_type"]: n["fused_into"] for n in manifest["nodes"] if n["kind"] == "fused"}
        self.assertEqual(sorted(fused), ["Add", "Clip", "Relu"])
        self.assertEqual(fused["Add"], fused["Clip"])
        self.assertNotEqual(fused["Relu"], fused["Add"])

        # --profile times every kernel call: one step per kernel of the manifest, in order, named
        # after its node and the nodes fused into it.
        r = run("run", out, "--profile", "3", "--json", "--threads", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        prof = json.loads(r.stdout)["profile"]
        kernel_nodes = [n["node"] for n in manifest["nodes"] if n["kind"] not in ("view", "fused", "in-place")]
        self.assertEqual(sorted(s["step"] for s in prof["steps"]), list(range(len(kernel_nodes))))
        self.assertEqual([s["node"].split(",")[0] for s in sorted(prof["steps"], key=lambda s: s["step"])],
                         kernel_nodes)
        self.assertGreater(prof["total_ms"], 0)
        self.assertAlmostEqual(sum(s["ms"] for s in prof["steps"]), prof["total_ms"], places=6)

    def check_shared_model(self, name):
        d = os.path.join(MODELS, name)
        data = os.path.join(d, "test_data_set_0")
        if not os.path.isdir(data):
            self.skipTest(f"{name} has no test data")
        model = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)
        init = {i.name for i in model.graph.initializer}
        in_names = [i.name for i in model.graph.input if i.name not in init]
        out_names = [o.name for o in model.graph.output]
        inputs = {n: numpy_helper.to_array(onnx.load_tensor(os.path.join(data, f"input_{i}.pb")))
                  for i, n in enumerate(in_names)}
        self.build_and_run(os.path.join(d, "model.onnx"), inputs)
        for i, n in enumerate(out_names):
            want = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, f"output_{i}.pb")))
            got = self.output(n)
            self.assertEqual(got.shape, want.shape, n)
            err = rel_error(got, want)
            print(f"{name}: output {n} max relative error {err:.2e}", file=sys.stderr)
            self.assertLess(err, 1e-4, n)

    def test_split_concat_shuffle_and_dense_block_match_pytorch(self):
        """ShuffleNet's unit (channel split by two Slices, a branch, Concat, channel shuffle) and
        DenseNet's growing concatenation with a pre-activation BN: the slices become views of
        their input, the concats are written in place, the BN becomes a fused affine; the values
        must still be PyTorch's."""
        rng = np.random.default_rng(7)
        c = 32
        w1 = (rng.standard_normal((c // 2, c // 2, 1, 1)) * 0.3).astype(np.float32)
        w2 = (rng.standard_normal((16, c, 3, 3)) * 0.1).astype(np.float32)
        w3 = (rng.standard_normal((16, c + 16, 1, 1)) * 0.2).astype(np.float32)
        sc, sh = rng.uniform(0.5, 1.5, c + 16).astype(np.float32), rng.standard_normal(c + 16).astype(np.float32)
        mu, var = rng.standard_normal(c + 16).astype(np.float32), rng.uniform(0.5, 2, c + 16).astype(np.float32)
        i64 = lambda v: np.array(v, dtype=np.int64)
        inits = [numpy_helper.from_array(a, n) for a, n in (
            (w1, "w1"), (w2, "w2"), (w3, "w3"), (sc, "sc"), (sh, "sh"), (mu, "mu"), (var, "var"),
            (i64([0]), "z"), (i64([c // 2]), "half"), (i64([c]), "full"), (i64([1]), "ax"),
            (i64([1, 2, c // 2, 8, 8]), "s5"), (i64([1, c, 8, 8]), "s4"))]
        nodes = [
            helper.make_node("Relu", ["x"], ["r"]),
            helper.make_node("Slice", ["r", "z", "half", "ax"], ["x1"]),
            helper.make_node("Slice", ["r", "half", "full", "ax"], ["x2"]),
            helper.make_node("Conv", ["x2", "w1"], ["b"]),
            helper.make_node("Relu", ["b"], ["br"]),
            helper.make_node("Concat", ["x1", "br"], ["cat"], axis=1),
            helper.make_node("Reshape", ["cat", "s5"], ["g5"]),
            helper.make_node("Transpose", ["g5"], ["t5"], perm=[0, 2, 1, 3, 4]),
            helper.make_node("Reshape", ["t5", "s4"], ["shuf"]),
            # A dense block: d1 = conv(shuf); cat2 = [shuf, d1]; BN, Relu, conv.
            helper.make_node("Conv", ["shuf", "w2"], ["d1"], pads=[1, 1, 1, 1]),
            helper.make_node("Concat", ["shuf", "d1"], ["cat2"], axis=1),
            helper.make_node("BatchNormalization", ["cat2", "sc", "sh", "mu", "var"], ["bn"], epsilon=1e-5),
            helper.make_node("Relu", ["bn"], ["bnr"]),
            helper.make_node("Conv", ["bnr", "w3"], ["y"]),
        ]
        g = helper.make_graph(nodes, "units", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
        path = os.path.join(self.d, "units.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        x = rng.standard_normal((1, c, 8, 8)).astype(np.float32)
        out = self.build_and_run(path, {"x": x})
        t = torch.from_numpy
        r = F.relu(t(x))
        x1, x2 = r[:, : c // 2], r[:, c // 2:]
        cat = torch.cat([x1, F.relu(F.conv2d(x2, t(w1)))], 1)
        shuf = cat.reshape(1, 2, c // 2, 8, 8).transpose(1, 2).reshape(1, c, 8, 8)
        cat2 = torch.cat([shuf, F.conv2d(shuf, t(w2), padding=1)], 1)
        bn = F.batch_norm(cat2, t(mu), t(var), t(sc), t(sh), eps=1e-5)
        want = F.conv2d(F.relu(bn), t(w3)).numpy()
        self.assertLess(rel_error(self.output("y"), want), 1e-5)
        kinds = {n["op_type"]: n["kind"] for n in json.load(open(os.path.join(out, "manifest.json")))["nodes"]}
        self.assertEqual(kinds["Slice"], "view")
        self.assertEqual(kinds["Concat"], "in-place")

    def test_mobilenet_v2_matches_pytorch(self):
        self.check_shared_model("mobilenet_v2")

    def test_transformer_matches_pytorch(self):
        self.check_shared_model("transformer_l2_d256")


class Deliver(unittest.TestCase):
    def test_deliver_builds_runs_and_compares_with_pytorch(self):
        with tempfile.TemporaryDirectory() as d:
            w = numpy_helper.from_array(np.random.default_rng(3).standard_normal((64, 32)).astype(np.float32), "w")
            g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Relu", ["m"], ["y"])],
                                  "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 64])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
            p = os.path.join(d, "mm.onnx")
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
            db = os.path.join(d, "s.db")
            # An empty store and no measuring: the template's default schedule.
            r = run("deliver", p, "-o", os.path.join(d, "out0"), "--store", "sqlite:" + db, "--runs", "3",
                    "--measure", "0", "--no-pytorch", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([t["source"] for t in json.loads(r.stdout)["tasks"]], ["default"])
            # With the default budget, candidates are measured here and every trial is kept.
            r = run("deliver", p, "-o", os.path.join(d, "out"), "--store", "sqlite:" + db,
                    "--runs", "3", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            j = json.loads(r.stdout)
            self.assertEqual(j["format"], "opal.deliver/1")
            self.assertEqual(j["tasks"][0]["source"], "zero-shot")  # measured, whichever candidate won
            self.assertEqual(j["measure_per_workload"], 8)
            trials = sqlite3.connect(db).execute("select count(*) from records").fetchone()[0]
            self.assertGreaterEqual(trials, 1)
            self.assertLessEqual(trials, 8)
            node = [n for n in j["build"]["nodes"] if "workload_key" in n][0]
            self.assertIn("measured here", node["schedule_note"])
            self.assertNotIn("pytorch_error", j)
            self.assertGreater(j["pytorch"]["p50_ms"], 0)
            self.assertGreater(j["opal"]["p50_ms"], 0)
            self.assertTrue(os.path.exists(os.path.join(d, "out", "libmodel.so")))

            # The same records as another machine of this kind measured them: without a budget
            # they serve as they are ("coarse"); with one, the workload is tuned here, starting
            # from that machine's best config.
            host = json.loads(run("target", "--json").stdout)
            sib_text = re.sub(r'model="[^"]*"', 'model="A sibling CPU"', host["canonical"])
            sib = json.loads(run("target", "--target", sib_text, "--json").stdout)
            self.assertEqual(sib["coarse_key"], host["coarse_key"])
            self.assertNotEqual(sib["exact_key"], host["exact_key"])
            best = sqlite3.connect(db).execute(
                "select config from records where status = 'ok' order by median_s limit 1").fetchone()[0]
            db2 = os.path.join(d, "s2.db")
            shutil.copy(db, db2)
            with sqlite3.connect(db2) as c:  # the store's one target becomes the sibling
                c.execute("update targets set key = ?, canonical = ? where key = ?",
                          (sib["exact_key"], sib["canonical"], host["exact_key"]))
            r = run("deliver", p, "-o", os.path.join(d, "out1"), "--store", "sqlite:" + db2, "--runs", "3",
                    "--measure", "0", "--no-pytorch", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([t["source"] for t in json.loads(r.stdout)["tasks"]], ["coarse"])

            # With measuring, that machine's best configs are re-timed here together with the
            # template's default (a schedule chosen here is never worse than the default). The
            # store is made to hold every config but the default; its summaries are rebuilt by
            # opening it again from schema 5.
            wl = sqlite3.connect(db2).execute("select json from workloads").fetchone()[0]
            r = run("measure", "--workload", wl, "--default", "--rounds", "1", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            default = json.loads(r.stdout)["sources"][0]["config"]
            db3 = os.path.join(d, "s3.db")
            with sqlite3.connect(db2) as src, sqlite3.connect(db3) as dst:
                src.backup(dst)  # a file copy would miss what db2's write-ahead log holds
            with sqlite3.connect(db3) as c:
                ids = [i for i, cfg in c.execute("select id, config from records") if json.loads(cfg) == default]
                c.executemany("delete from records where id = ?", [(i,) for i in ids])
                left = c.execute("select count(*) from records where status = 'ok'").fetchone()[0]
                c.executescript("drop table best_records; drop table best_rows; drop index tasks_pending; "
                                "update meta set value = '5' where key = 'schema_version';")
            self.assertGreaterEqual(left, 1)
            r = run("deliver", p, "-o", os.path.join(d, "out3"), "--store", "sqlite:" + db3, "--runs", "3",
                    "--no-pytorch", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            j = json.loads(r.stdout)
            self.assertEqual([t["source"] for t in j["tasks"]], ["coarse"])
            node = [n for n in j["build"]["nodes"] if "workload_key" in n][0]
            self.assertIn("and the template's default", node["schedule_note"])
            self.assertRegex(node["schedule_note"], r"kept (the default|#\d+)$")

            r = run("deliver", p, "-o", os.path.join(d, "out2"), "--store", "sqlite:" + db2, "--runs", "3",
                    "--budget", "3", "--no-pytorch", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([t["source"] for t in json.loads(r.stdout)["tasks"]], ["tuned"])
            first = sqlite3.connect(db2).execute(
                "select r.config from records r join targets t on t.id = r.target_id "
                "where t.key = ? order by r.id limit 1", (host["exact_key"],)).fetchone()
            self.assertIsNotNone(first)
            self.assertEqual(json.loads(first[0]), json.loads(best))


class ChannelVectorisedConv(unittest.TestCase):
    def test_weights_packed_at_build_time_give_the_right_result(self):
        # A conv whose best stored config is vectorised over channels (chan 1): the builder adds
        # the weights packed by output channel to weights.bin and the kernel reads that copy.
        with tempfile.TemporaryDirectory() as d:
            rng = np.random.default_rng(7)
            w = rng.standard_normal((32, 24, 3, 3)).astype(np.float32)
            b = rng.standard_normal(32).astype(np.float32)
            g = helper.make_graph([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                                   helper.make_node("Relu", ["c"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 24, 5, 5])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                                  [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
            p = os.path.join(d, "conv.onnx")
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
            db = os.path.join(d, "s.db")
            r = run("-q", "tune", p, "--trials", "8", "--store", "sqlite:" + db)  # the seeds include chan ones
            self.assertEqual(r.returncode, 0, r.stderr)
            # Make a chan record the best, whatever the timings were.
            con = sqlite3.connect(db)
            n = con.execute("UPDATE records SET median_s = median_s / 1000, gflops = gflops * 1000 "
                            "WHERE status = 'ok' AND config LIKE '%\"chan\":1%'").rowcount
            versions = con.execute("SELECT framework_version, count(*) FROM records WHERE status = 'ok' "
                                   "GROUP BY framework_version").fetchall()
            con.commit()
            con.close()
            self.assertGreaterEqual(n, 1)
            # The store's best-record summaries (best_records, and best_rows that lookups read;
            # docs/store.md) hold copies of the fastest records: a prune that drops the slowest
            # record rebuilds both from the edited records. (Editing best_records alone left
            # best_rows stale, so the real timings decided, and under load a pixel config won.)
            for v, ok in versions:
                r = run("db", "prune", "--store", "sqlite:" + db, "--framework", "halide",
                        "--framework-version", v, "--keep", str(ok - 1))
                self.assertEqual(r.returncode, 0, r.stderr)
            out = os.path.join(d, "built")
            r = run("build", p, "-o", out, "--store", "sqlite:" + db, "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            node = [n for n in json.loads(r.stdout)["nodes"] if "workload_key" in n][0]
            self.assertEqual(node["config"]["knobs"]["chan"], 1)
            self.assertIn("weights packed at build time", node["schedule_note"])
            x = rng.standard_normal((1, 24, 5, 5)).astype(np.float32)
            xp = os.path.join(d, "x.pb")
            onnx.save_tensor(numpy_helper.from_array(x, "x"), xp)
            r = run("run", out, "--input", f"x={xp}", "--output-dir", os.path.join(d, "outs"))
            self.assertEqual(r.returncode, 0, r.stderr)
            got = numpy_helper.to_array(onnx.load_tensor(os.path.join(d, "outs", "y.pb")))
            want = F.relu(F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding=1)).numpy()
            self.assertLess(rel_error(got, want), 1e-5)


class Retime(unittest.TestCase):
    def test_build_retimes_the_best_stored_configs_and_the_result_is_correct(self):
        with tempfile.TemporaryDirectory() as d:
            rng = np.random.default_rng(5)
            w = rng.standard_normal((48, 40)).astype(np.float32)
            g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [24, 48])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                                  [numpy_helper.from_array(w, "w")])
            p = os.path.join(d, "mm.onnx")
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
            store = "sqlite:" + os.path.join(d, "s.db")
            r = run("-q", "tune", p, "--trials", "5", "--store", store)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = os.path.join(d, "built")
            r = run("build", p, "-o", out, "--store", store, "--retime", "3", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            node = [n for n in json.loads(r.stdout)["nodes"] if "workload_key" in n][0]
            self.assertEqual(node["source"], "exact")
            self.assertIn("re-timed the 3 best stored configs", node["schedule_note"])
            self.assertGreater(node["expected_s"], 0)
            x = rng.standard_normal((24, 48)).astype(np.float32)
            xp = os.path.join(d, "x.pb")
            onnx.save_tensor(numpy_helper.from_array(x, "x"), xp)
            r = run("run", out, "--input", f"x={xp}", "--output-dir", os.path.join(d, "outs"))
            self.assertEqual(r.returncode, 0, r.stderr)
            got = numpy_helper.to_array(onnx.load_tensor(os.path.join(d, "outs", "y.pb")))
            self.assertLess(rel_error(got, x @ w), 1e-5)


class Errors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def one_error(self, r):
        self.assertNotEqual(r.returncode, 0)
        lines = [l for l in r.stderr.splitlines() if l.startswith("opal: error:")]
        self.assertEqual(len(lines), 1, r.stderr)
        return lines[0]

    def test_unknown_operator(self):
        g = helper.make_graph([helper.make_node("FancyOp", ["x"], ["y"], domain="com.example")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
        p = os.path.join(self.d, "fancy.onnx")
        onnx.save(m, p)
        line = self.one_error(run("build", p, "-o", os.path.join(self.d, "o"), "--no-store"))
        self.assertIn("FancyOp", line)

    def test_weights_from_another_build_are_refused(self):
        nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
        outs = []
        for seed in (1, 2):
            w = numpy_helper.from_array(np.random.default_rng(seed).standard_normal((4, 4)).astype(np.float32), "w")
            g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
            p = os.path.join(self.d, f"m{seed}.onnx")
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
            o = os.path.join(self.d, f"o{seed}")
            self.assertEqual(run("build", p, "-o", o, "--no-store").returncode, 0)
            outs.append(o)
        os.replace(os.path.join(outs[1], "weights.bin"), os.path.join(outs[0], "weights.bin"))
        line = self.one_error(run("run", outs[0]))
        self.assertIn("weights", line)

    def test_missing_build_dir(self):
        line = self.one_error(run("run", os.path.join(self.d, "nothing")))
        self.assertIn("nothing", line)


if __name__ == "__main__":
    OPAL, MODELS = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])
