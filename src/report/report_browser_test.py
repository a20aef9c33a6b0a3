"""`opal report` end to end in a real browser.

A store filled by real tuning of a small model (two MatMul tasks), a cost model trained on it and
registered in the store, the model built with that store, a plan of data/catalog's gpt_7b on a
mixed cluster; then `opal report` writes the page and headless Debian Chromium loads it from the
file (no network). Every chart must have rendered (Plotly's SVG in each chart element, counted by
the page itself) and nothing may have reached the console. The screenshot is kept as
ARTIFACTS/report.png.

Usage: report_browser_test.py OPAL ARTIFACTS
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

OPAL = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "opal"
ARTIFACTS = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "."
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHARTS = ["chart-records", "chart-curves", "chart-costmodel", "chart-kernels", "chart-timeline", "chart-pareto"]


def run(*args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 600), **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def chromium(profile, *args, timeout=120):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=timeout)


class ReportInChromium(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="opal-report-test-")
        t = cls.tmp
        env = dict(os.environ, OPAL_DEVICE_LOCK=os.path.join(t, "device.lock"))
        model = os.path.join(t, "m.onnx")
        run("/usr/bin/python3", os.path.join(ROOT, "tests", "distributed", "make_two_matmuls.py"), model)
        cls.store = "sqlite:" + os.path.join(t, "s.db")
        run(OPAL, "-q", "tune", model, "--trials", "40", "--store", cls.store, env=env)
        run(OPAL, "costmodel", "train", "--store", cls.store, "--no-search", "-o", os.path.join(t, "cm.json"),
            "--register", "cm1", env=env)
        cls.model_dir = os.path.join(t, "built")
        run(OPAL, "build", model, "-o", cls.model_dir, "--store", cls.store, "--cache", "off", env=env)
        cls.plan = os.path.join(t, "plan.json")
        p = run(OPAL, "plan", "--model", os.path.join(ROOT, "data", "catalog", "models", "gpt_7b.json"),
                "--cluster", os.path.join(ROOT, "data", "catalog", "clusters", "cloud_mix_small.json"),
                "--json", "--time-limit", "0.5", env=env)
        with open(cls.plan, "w") as f:
            f.write(p.stdout)
        cls.html = os.path.join(t, "report.html")
        cls.report = run(OPAL, "report", "--store", cls.store, "--model", cls.model_dir, "--plan", cls.plan,
                         "-o", cls.html, "--profile-runs", "3", env=env)
        profile = os.path.join(t, "chromium-profile")
        url = "file://" + cls.html
        cls.dom = chromium(profile, "--virtual-time-budget=20000", "--dump-dom", url)
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.png = os.path.join(ARTIFACTS, "report.png")
        if os.path.exists(cls.png):
            os.remove(cls.png)
        cls.shot = chromium(os.path.join(t, "chromium-profile-2"), "--virtual-time-budget=20000",
                            "--window-size=1280,4200", "--hide-scrollbars", f"--screenshot={cls.png}", url)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_page_is_self_contained(self):
        with open(self.html, encoding="utf-8") as f:
            page = f.read()
        # No resource is fetched at view time: no external script, stylesheet, image or frame.
        self.assertIsNone(re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", page, re.I))
        self.assertIn("plotly.js v2.", page[:200000])
        self.assertIn("wrote " + self.html, self.report.stdout)

    def test_every_chart_rendered(self):
        self.assertEqual(self.dom.returncode, 0, self.dom.stderr[-2000:])
        dom = self.dom.stdout
        m = re.search(r'<body[^>]*data-charts-expected="(\d+)"[^>]*data-charts-rendered="(\d+)"', dom)
        self.assertIsNotNone(m, "the page did not finish drawing: " + dom[:500])
        self.assertEqual(int(m.group(1)), len(CHARTS))
        self.assertEqual(int(m.group(2)), len(CHARTS))
        for chart in CHARTS:
            tag = re.search(r'<div[^>]*id="%s"[^>]*>' % chart, dom)
            self.assertIsNotNone(tag, chart + " is missing")
            self.assertIn('data-rendered="1"', tag.group(0), chart)
        # Plotly drew real marks: bars, lines, points.
        self.assertGreater(dom.count('class="point"'), 10)
        self.assertIn('class="js-line"', dom)

    def test_nothing_was_logged_to_the_console(self):
        console = re.search(r'<pre id="opal-console">(.*?)</pre>', self.dom.stdout, re.S)
        self.assertIsNotNone(console)
        self.assertEqual(console.group(1).strip(), "")
        logged = [l for l in self.dom.stderr.splitlines() if "CONSOLE" in l]
        self.assertEqual(logged, [])

    def test_screenshot_is_kept(self):
        self.assertEqual(self.shot.returncode, 0, self.shot.stderr[-2000:])
        with open(self.png, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        self.assertEqual((width, height), (1280, 4200))

    def test_errors_are_one_line(self):
        r = subprocess.run([OPAL, "report", "--store", "sqlite:" + os.path.join(self.tmp, "none.db"), "-o",
                            os.path.join(self.tmp, "x.html")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertIn("no record store", r.stderr)
        r = subprocess.run([OPAL, "report", "--store", self.store, "--plan", self.html, "-o",
                            os.path.join(self.tmp, "x.html")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("opal.plan/1", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
