#!/usr/bin/env python3
"""tests/hf/check_eval_reference.py — `krait-text eval` against an independent float64 reference.

For a random byte-level model saved in the HF layout, the loss krait-text reports must equal the
loss of tests/hf/reference_mamba.py (numpy, float64, written from the equations) within 1e-4
relative, for F32, BF16 and F16 files and for both embedding names (backbone.embeddings.weight
and backbone.embedding.weight).

The model: `krait-model init` (official initialisation), then every tensor perturbed with
Gaussian noise so that the model is far from uniform (its loss differs from ln 256 and every
parameter matters), then `krait-model convert` to BF16 and F16, then each folder copied with the
embedding renamed. Text: data/text/sample.txt.

Usage: check_eval_reference.py BUILD_DIR   (exit 0 pass, 1 fail, 77 when numpy is missing)
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy is not installed: skipped")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def read_st(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def write_st(path, header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def perturb(src_dir, dst_dir, rng):
    """Copy a model folder adding N(0, 0.25) noise to every F32 tensor (A_log by less)."""
    shutil.copytree(src_dir, dst_dir)
    header, data = read_st(os.path.join(src_dir, "model.safetensors"))
    buf = bytearray(data)
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        b, e = info["data_offsets"]
        a = np.frombuffer(bytes(buf[b:e]), dtype="<f4").copy()
        scale = 0.05 if name.endswith("A_log") else 0.25
        a += rng.normal(0.0, scale, a.shape).astype(np.float32)
        buf[b:e] = a.astype("<f4").tobytes()
    write_st(os.path.join(dst_dir, "model.safetensors"), header, bytes(buf))


def rename_embedding(src_dir, dst_dir):
    shutil.copytree(src_dir, dst_dir)
    header, data = read_st(os.path.join(src_dir, "model.safetensors"))
    header["backbone.embedding.weight"] = header.pop("backbone.embeddings.weight")
    write_st(os.path.join(dst_dir, "model.safetensors"), header, data)


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
    rng = np.random.default_rng(20261130)
    work = tempfile.mkdtemp(prefix="krait-evalref-")
    failures = 0
    try:
        cfg = os.path.join(work, "tiny.json")
        json.dump({"hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 256, "state_size": 8,
                   "krait": {"modality": "text", "tokenizer": "bytes"}}, open(cfg, "w"))
        run([krait_model, "init", cfg, "--out", os.path.join(work, "init"), "--seed", "5"])
        perturb(os.path.join(work, "init"), os.path.join(work, "f32"), rng)
        for dt in ("bf16", "f16"):
            run([krait_model, "convert", os.path.join(work, "f32"), "--out", os.path.join(work, dt), "--dtype", dt])
        variants = []
        for dt in ("f32", "bf16", "f16"):
            variants.append(dt)
            rename_embedding(os.path.join(work, dt), os.path.join(work, dt + "-embedding"))
            variants.append(dt + "-embedding")
        for v in variants:
            d = os.path.join(work, v)
            got = json.loads(run([krait_text, "eval", "--model", d, "--input", text, "--chunk", "100",
                                  "--json"]).strip().splitlines()[-1])
            ref = json.loads(run([sys.executable, os.path.join(HERE, "reference_mamba.py"), d, text]))
            rel = abs(got["loss"] - ref["loss"]) / abs(ref["loss"])
            ok = rel <= 1e-4 and got["scored"] == ref["scored"]
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'} {v:<15} krait-text {got['loss']:.9f}  reference {ref['loss']:.9f}  "
                  f"rel {rel:.2e}  ({got['scored']} tokens)")
        uniform = np.log(256.0)
        print(f"(a uniform model would score {uniform:.6f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
