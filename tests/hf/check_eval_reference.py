#!/usr/bin/env python3
"""tests/hf/check_eval_reference.py — `krait-text eval` against the independent float64 reference.

For a random byte-level model saved in the HF layout, the loss krait-text reports (streamed in
chunks of 100 tokens with the state carried) must equal the mean next-token cross-entropy that
tests/hf/mamba_ref.py (pure Python, float64, written from the equations) computes for the same
bytes, within 1e-4 relative, for F32, BF16 and F16 files and for both embedding names
(backbone.embeddings.weight and backbone.embedding.weight).

The model: `krait-model init` (official initialisation), then every tensor perturbed
(mamba_ref.perturb) so that the model is far from uniform and every parameter matters, then
`krait-model convert` to BF16 and F16, then each folder copied with the embedding renamed.
Text: data/text/sample.txt.

Usage: check_eval_reference.py BUILD_DIR   (exit 0 pass, 1 fail)
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import mamba_ref  # noqa: E402


def rename_embedding(src_dir, dst_dir):
    """Copy a model folder, its embedding stored as backbone.embedding.weight (the original name)."""
    shutil.copytree(src_dir, dst_dir)
    path = os.path.join(src_dir, "model.safetensors")
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    header["backbone.embedding.weight"] = header.pop("backbone.embeddings.weight")
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(dst_dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + blob[8 + n:])


def long_memory(folder, seed):
    """Slow the state's decay (A = -exp(A_log) in [-0.2, -0.01]) and raise the input and output
    scales (B, C through x_proj): the loss then depends on tokens chunks back, so a state lost or
    garbled at a chunk boundary shows."""
    import random
    rng = random.Random(seed)
    path = os.path.join(folder, "model.safetensors")
    raw = mamba_ref.read_safetensors(path)
    out = {}
    for name, (_, shape, vals) in raw.items():
        if name.endswith("A_log"):
            vals = [math.log(rng.uniform(0.01, 0.2)) for _ in vals]
        elif name.endswith("x_proj.weight"):
            vals = [3.0 * v for v in vals]
        out[name] = (shape, vals)
    mamba_ref.write_safetensors(path, out)


def reference_loss(folder, ids, mutation=None):
    """Mean of -log softmax(logits[t])[ids[t + 1]] over t = 0 .. n-2 (of a deliberately wrong
    reference with a mamba_ref mutation, to show the comparison would notice one)."""
    m = mamba_ref.load_model(folder)
    total = 0.0
    for t, row in enumerate(mamba_ref.forward(m, ids, frozenset([mutation] if mutation else []))[:-1]):
        mx = max(row)
        lse = mx + math.log(sum(math.exp(v - mx) for v in row))
        total += lse - row[ids[t + 1]]
    return total / (len(ids) - 1), len(ids) - 1


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print("FAIL running", " ".join(cmd), "\n", p.stdout, p.stderr)
        sys.exit(1)
    return p.stdout


def main():
    build = sys.argv[1]
    krait_model = os.path.join(build, "apps", "krait-model")
    krait_text = os.path.join(build, "apps", "krait-text")
    text = os.path.join(ROOT, "data", "text", "sample.txt")
    with open(text, "rb") as f:
        ids = list(f.read())
    work = tempfile.mkdtemp(prefix="krait-evalref-")
    failures = 0
    try:
        cfg = os.path.join(work, "tiny.json")
        with open(cfg, "w") as f:
            json.dump({"hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 256, "state_size": 8,
                       "krait": {"modality": "text", "tokenizer": "bytes"}}, f)
        run([krait_model, "init", cfg, "--out", os.path.join(work, "init"), "--seed", "5", "--threads", "1"])
        mamba_ref.perturb(os.path.join(work, "init"), os.path.join(work, "f32"), seed=20261130)
        long_memory(os.path.join(work, "f32"), seed=7)
        for dt in ("bf16", "f16"):
            run([krait_model, "convert", os.path.join(work, "f32"), "--out", os.path.join(work, dt), "--dtype", dt])
        variants = []
        for dt in ("f32", "bf16", "f16"):
            variants.append(dt)
            rename_embedding(os.path.join(work, dt), os.path.join(work, dt + "-embedding"))
            variants.append(dt + "-embedding")
        for v in variants:
            d = os.path.join(work, v)
            got = json.loads(run([krait_text, "eval", "--model", d, "--input", text, "--chunk", "100", "--json",
                                  "--threads", "1"]).strip().splitlines()[-1])
            loss, scored = reference_loss(d, ids)
            rel = abs(got["loss"] - loss) / abs(loss)
            ok = rel <= 1e-4 and got["scored"] == scored
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'} {v:<15} krait-text {got['loss']:.9f}  reference {loss:.9f}  "
                  f"rel {rel:.2e}  ({got['scored']} tokens)")
        # the state carried across chunks must matter: forgetting it (or the gate) moves the loss far
        loss, _ = reference_loss(os.path.join(work, "f32"), ids)
        for mu in ("reset_state", "no_gate"):
            wrong, _ = reference_loss(os.path.join(work, "f32"), ids, mu)
            rel = abs(wrong - loss) / loss
            ok = rel > 1e-3
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'} sensitivity: a reference with {mu} scores {wrong:.6f} (rel {rel:.1e} "
                  f"from the right one; must exceed 10x the tolerance)")
        print(f"(a uniform model would score {math.log(256.0):.6f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
