#!/usr/bin/python3
"""Exports architectures opal does not ship, as ONNX files with their (random) weights, for
end-to-end checks of generality beyond ../shared/models: CNN families with squeeze-excitation,
SiLU/HardSwish, channel shuffle, dense concatenation, grouped and depthwise convolutions, a
BERT-style encoder, vision transformers (ViT, Swin), ConvNeXt, and segmentation networks
(DeepLabV3, FCN: dilated convolutions and Resize).

  models/export_zoo.py OUTDIR [NAME...]       (default: every model below)

Needs Debian's python3-torch and python3-torchvision (/usr/bin/python3). Weights are torchvision's
random initialisation with a fixed seed (no download); models are in eval mode, batch 1, opset 13,
exported with their parameters (initializers), BatchNormalization left in the graph (torch's export
in eval mode folds nothing for us: the builder's passes do). Writes OUTDIR/NAME/model.onnx.
"""
import os
import sys

import torch

BATCH_SHAPES = {"image": (1, 3, 224, 224)}


class BertLayer(torch.nn.Module):
    """One post-norm encoder layer as BERT writes it: self-attention (separate Q, K, V projections,
    scaled dot product, softmax), residual + LayerNorm, GELU feed-forward, residual + LayerNorm."""

    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.heads = heads
        self.q = torch.nn.Linear(hidden, hidden)
        self.k = torch.nn.Linear(hidden, hidden)
        self.v = torch.nn.Linear(hidden, hidden)
        self.o = torch.nn.Linear(hidden, hidden)
        self.ln1 = torch.nn.LayerNorm(hidden)
        self.up = torch.nn.Linear(hidden, ffn)
        self.down = torch.nn.Linear(ffn, hidden)
        self.ln2 = torch.nn.LayerNorm(hidden)

    def split(self, x):
        b, s, h = x.shape
        return x.view(b, s, self.heads, h // self.heads).transpose(1, 2)

    def forward(self, x):
        b, s, h = x.shape
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / (h // self.heads) ** 0.5
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.down(torch.nn.functional.gelu(self.up(x))))


class BertEncoder(torch.nn.Module):
    """A BERT-base-shaped encoder (4 layers to keep the file small): token + position embeddings,
    LayerNorm, post-norm layers with GELU feed-forward, sequence 128."""

    def __init__(self, layers=4, hidden=768, heads=12, ffn=3072, vocab=30522, seq=128):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, hidden)
        self.pos = torch.nn.Parameter(torch.randn(1, seq, hidden) * 0.02)
        self.norm = torch.nn.LayerNorm(hidden)
        self.layers = torch.nn.ModuleList([BertLayer(hidden, heads, ffn) for _ in range(layers)])

    def forward(self, ids):
        x = self.norm(self.tok(ids) + self.pos)
        for layer in self.layers:
            x = layer(x)
        return x


class OutTensor(torch.nn.Module):
    """torchvision's segmentation models return a dict; export its 'out' tensor."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def segmentation_model(name):
    import torchvision.models.segmentation as seg
    return OutTensor(getattr(seg, name)(weights=None, weights_backbone=None, aux_loss=False))


def randomise_zero_parameters(model):
    """Parameters torchvision initialises to zero (ViT's head, class token, some biases) would make
    every logit 0 and the output comparison empty: give them small random values instead."""
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 0 and not p.any():
                p.copy_(torch.randn_like(p) * 0.02)
    return model


def torchvision_model(name):
    import torchvision.models as tvm
    ctor = getattr(tvm, name)
    kwargs = {"weights": None}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=True)
    return ctor(**kwargs)


MODELS = {
    "efficientnet_b0": lambda: (torchvision_model("efficientnet_b0"), "image"),
    "efficientnet_b1": lambda: (torchvision_model("efficientnet_b1"), "image"),
    "mobilenet_v3_small": lambda: (torchvision_model("mobilenet_v3_small"), "image"),
    "shufflenet_v2_x0_5": lambda: (torchvision_model("shufflenet_v2_x0_5"), "image"),
    "mnasnet1_0": lambda: (torchvision_model("mnasnet1_0"), "image"),
    "resnet34": lambda: (torchvision_model("resnet34"), "image"),
    "mobilenet_v3_large": lambda: (torchvision_model("mobilenet_v3_large"), "image"),
    "shufflenet_v2_x1_0": lambda: (torchvision_model("shufflenet_v2_x1_0"), "image"),
    "densenet121": lambda: (torchvision_model("densenet121"), "image"),
    "resnext50_32x4d": lambda: (torchvision_model("resnext50_32x4d"), "image"),
    "googlenet": lambda: (torchvision_model("googlenet"), "image"),
    "regnet_y_800mf": lambda: (torchvision_model("regnet_y_800mf"), "image"),
    "bert_l4_d768": lambda: (BertEncoder(), "tokens"),
    # Transformers for vision, a modern CNN, segmentation networks (Resize, dilated convs).
    "convnext_tiny": lambda: (torchvision_model("convnext_tiny"), "image"),
    "swin_t": lambda: (torchvision_model("swin_t"), "image"),
    "vit_b_16": lambda: (randomise_zero_parameters(torchvision_model("vit_b_16")), "image"),
    "efficientnet_v2_s": lambda: (torchvision_model("efficientnet_v2_s"), "image"),
    "squeezenet1_1": lambda: (torchvision_model("squeezenet1_1"), "image"),
    "deeplabv3_mobilenet_v3_large": lambda: (segmentation_model("deeplabv3_mobilenet_v3_large"), "image"),
    "fcn_resnet50": lambda: (segmentation_model("fcn_resnet50"), "image"),
}


def export(name, out_dir):
    torch.manual_seed(0)
    model, kind = MODELS[name]()
    model.eval()
    if kind == "image":
        example = torch.randn(*BATCH_SHAPES["image"])
        names = ["input"]
    else:
        example = torch.randint(0, 30522, (1, 128))
        names = ["input_ids"]
    path = os.path.join(out_dir, name, "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Not under torch.no_grad(): there torch's attention takes its fused inference path
    # (_native_multi_head_attention), which has no ONNX export (ViT).
    torch.onnx.export(model, (example,), path, opset_version=13, input_names=names,
                      output_names=["output"], do_constant_folding=True)
    print(path)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    names = argv[2:] or list(MODELS)
    for n in names:
        if n not in MODELS:
            sys.exit(f"export_zoo.py: unknown model '{n}' (known: {', '.join(MODELS)})")
    for n in names:
        export(n, argv[1])


if __name__ == "__main__":
    main(sys.argv)
