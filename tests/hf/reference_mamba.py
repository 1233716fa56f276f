#!/usr/bin/env python3
"""tests/hf/reference_mamba.py — an independent float64 reference of the Mamba LM, in numpy.

Written from the equations (DESIGN.md "The mixer, exactly"; Gu & Dao 2023), not from krait's C
code: it reads a model folder (config.json + model.safetensors, HF layout, F32/F16/BF16, either
embedding name) with its own safetensors parser, runs the whole forward in float64 one token at a
time through the recurrence, and prints the mean next-token cross-entropy of a file's bytes
(the byte tokenizer: byte value = token id). Used by tests/hf/check_eval_reference.sh to check
`krait-text eval`.

Usage: reference_mamba.py MODEL_DIR INPUT_FILE   -> prints one JSON line {"tokens", "loss"}
"""
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = blob[base + begin:base + end]
        shape = info["shape"]
        dt = info["dtype"]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif dt == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            a = bits.view(np.float32).astype(np.float64)
        else:
            raise ValueError(f"{path}: tensor {name}: dtype {dt} not handled by the reference")
        tensors[name] = a.reshape(shape)
    return tensors


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def softplus(x):
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def main():
    model_dir, input_path = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    W = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    eps = cfg.get("layer_norm_epsilon", cfg.get("norm_epsilon", 1e-5))
    n_layer = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    emb = W.get("backbone.embeddings.weight")
    if emb is None:
        emb = W["backbone.embedding.weight"]
    head = W.get("lm_head.weight", emb)
    ids = np.frombuffer(open(input_path, "rb").read(), dtype=np.uint8).astype(np.int64)

    layers = []
    for i in range(n_layer):
        p = f"backbone.layers.{i}."
        g = lambda k: W.get(p + k)
        layers.append(dict(norm=g("norm.weight"), in_w=g("mixer.in_proj.weight"), in_b=g("mixer.in_proj.bias"),
                           conv_w=g("mixer.conv1d.weight")[:, 0, :], conv_b=g("mixer.conv1d.bias"),
                           x_w=g("mixer.x_proj.weight"), dt_w=g("mixer.dt_proj.weight"),
                           dt_b=g("mixer.dt_proj.bias"), A=-np.exp(g("mixer.A_log")), Dp=g("mixer.D"),
                           out_w=g("mixer.out_proj.weight"), out_b=g("mixer.out_proj.bias")))
    E = layers[0]["in_w"].shape[0] // 2
    K = layers[0]["conv_w"].shape[1]
    N = layers[0]["A"].shape[1]
    R = layers[0]["dt_w"].shape[1]
    # recurrent state per layer: the last K-1 conv inputs and the SSM state
    conv_hist = [np.zeros((K - 1, E)) for _ in layers]
    ssm = [np.zeros((E, N)) for _ in layers]

    total, count = 0.0, 0
    for t in range(len(ids) - 1):
        resid = emb[ids[t]].copy()
        for li, L in enumerate(layers):
            x = rmsnorm(resid, L["norm"], eps)
            xz = L["in_w"] @ x
            if L["in_b"] is not None:
                xz = xz + L["in_b"]
            xs, z = xz[:E], xz[E:]
            window = np.vstack([conv_hist[li], xs[None, :]])          # (K, E), oldest first
            conv_hist[li] = window[1:]
            c = np.sum(window.T * L["conv_w"], axis=1)
            if L["conv_b"] is not None:
                c = c + L["conv_b"]
            u = silu(c)
            dbc = L["x_w"] @ u
            delta = softplus(L["dt_w"] @ dbc[:R] + L["dt_b"])
            Bm, Cm = dbc[R:R + N], dbc[R + N:]
            ssm[li] = np.exp(delta[:, None] * L["A"]) * ssm[li] + (delta * u)[:, None] * Bm[None, :]
            y = ssm[li] @ Cm + L["Dp"] * u
            y = y * silu(z)
            out = L["out_w"] @ y
            if L["out_b"] is not None:
                out = out + L["out_b"]
            resid = resid + out
        hf = rmsnorm(resid, W["backbone.norm_f.weight"], eps)
        logits = head @ hf
        m = np.max(logits)
        lse = m + np.log(np.sum(np.exp(logits - m)))
        total += lse - logits[ids[t + 1]]
        count += 1
    print(json.dumps({"tokens": int(len(ids)), "scored": count, "loss": total / count}))


if __name__ == "__main__":
    main()
