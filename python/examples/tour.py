# %% [markdown]
# # opal from Python: a short tour
#
# Run it cell by cell in a notebook (Jupyter reads `# %%` cells through jupytext), or as a script:
# `PYTHONPATH=build/python /usr/bin/python3 python/examples/tour.py` from the checkout.

# %%
import numpy as np
import torch
import torchvision

import opal

# %% [markdown]
# ## Build a PyTorch model and call it
# The module is exported to ONNX in this process (opset 13, inference mode) and built with the best
# kernels the store knows (the default store: `$OPAL_STORE` or `~/.local/share/opal/records.db`).

# %%
net = torchvision.models.resnet18().eval()
x = torch.randn(1, 3, 224, 224)
m = opal.build(net, example_inputs=(x,))
y = m(x)  # a torch tensor, written in place by the kernels
with torch.no_grad():
    want = net(x)
print("relative L2 error vs PyTorch:", float((y - want).norm() / want.norm()))
print(m.bench(runs=20))

# %% [markdown]
# ## Where the time goes, and where each schedule came from

# %%
for k in m.profile(runs=5)[:5]:
    print(f"{k.mean_s * 1e3:7.3f} ms  {100 * k.share:4.1f}%  {k.node}")
for node in m.manifest.nodes:
    if node.workload_key:
        print(node.node, node.source, node.config[:60])
        break

# %% [markdown]
# ## The tuning tasks, the store and what it knows

# %%
tasks = opal.tasks(net, example_inputs=(x,))
print(len(tasks), "tasks; largest:", tasks.tasks[0].summary, f"{100 * tasks.tasks[0].share:.1f}%")
store = opal.Store()
for row in store.stats():
    print(row.target, row.op, row.records, f"{row.best_gflops:.1f} GFLOP/s")

# %% [markdown]
# ## Tune what the store lacks, with progress, then deliver

# %%
with opal.on_progress(opal.printer()):
    d = opal.deliver(net, example_inputs=(x,), budget=60, compare_pytorch=True)
print(d)

# %% [markdown]
# ## Plan training on mixed GPUs

# %%
r = opal.plan("data/catalog/models/gpt_7b.json", "data/catalog/clusters/cloud_mix_small.json", goal="cost")
print(r.best.iteration_s, "s per iteration on", r.best.gpus, "GPUs")
r.save_svg("plan.svg")  # in a notebook, `r` alone shows the SVG
r.save("plan.json")     # for `opal report --plan plan.json`
