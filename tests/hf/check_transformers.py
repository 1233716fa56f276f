#!/usr/bin/env python3
"""tests/hf/check_transformers.py — krait's model folders against HuggingFace transformers.

Usage:  python3 tests/hf/check_transformers.py PATH/TO/krait-model [--work DIR] [--keep] [--tol 1e-4]

Needs torch, numpy, safetensors and transformers (5.x; 4.4x works too). No network: it builds small
random models itself. Everything runs on the CPU (krait-model logits --device cpu, torch on CPU).

Checks (one PASS / FAIL / SKIP line each; exit status 1 if any FAIL):
 transformers -> krait
  hf-tied            MambaForCausalLM (hidden 64, 2 layers, vocab 100, state 16, use_bias False, tied),
                     weights perturbed, save_pretrained; krait-model logits == HF logits (max abs diff
                     <= tol * max(1, max|HF logit|)). A config written by transformers keeps its
                     vocab as written (100); where krait pads (original state-spaces configs: 100 ->
                     104, zero rows), the extra logits must be exactly 0.
  hf-untied          the same with tie_word_embeddings False (lm_head stored).
  hf-embedding-name  the tied folder with the embedding renamed to backbone.embedding.weight.
  hf-lm-head-stored  the tied folder with lm_head.weight stored too (as the -hf hub repos hold it).
  hf-original-config the renamed folder with an original state-spaces config.json (d_model, n_layer, ...).
 krait -> transformers (MambaForCausalLM.from_pretrained on folders krait wrote; no missing or
 unexpected keys; HF logits == krait logits on the same folder)
  krait-convert-f32 / -untied / -bf16 / -f16   krait-model convert of the HF folders
  krait-convert-{bf16,f16}-vs-f32              the rounded model stays near the fp32 one (loose tol)
  krait-init / krait-init-untied                krait-model init CONFIG --out DIR --seed N
  hf-resave                                     a krait folder loaded and saved again by transformers
                                                reads back into krait with the same logits
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

# No hub, no telemetry, and no CUDA kernels: transformers must take its plain PyTorch path.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import MambaConfig, MambaForCausalLM  # noqa: E402

VOCAB, HIDDEN, LAYERS, STATE = 100, 64, 2, 16
RESULTS = []  # (status, name)


def report(status, name, msg):
    RESULTS.append((status, name))
    print(f"{status} {name}: {msg}", flush=True)


class Krait:
    def __init__(self, binary, work):
        self.binary = os.path.abspath(binary)
        self.work = work
        self.n = 0

    def run(self, *args):
        r = subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            lines = [l for l in r.stderr.strip().splitlines() if "device cpu" not in l]
            raise RuntimeError(f"krait-model {args[0]} exited {r.returncode}: {' | '.join(lines[-3:])}")
        return r.stdout

    def logits(self, folder, ids):
        self.n += 1
        out = os.path.join(self.work, f"logits-{self.n}.f32")
        stdout = self.run("logits", folder, "--ids", ",".join(str(i) for i in ids), "--output", out,
                          "--device", "cpu", "--json")
        info = json.loads(stdout.strip().splitlines()[-1])
        L, V = int(info["positions"]), int(info["vocab_size"])
        a = np.fromfile(out, dtype="<f4")
        if a.size != L * V or L != len(ids):
            raise RuntimeError(f"{out}: {a.size} values, expected {len(ids)} x {V}")
        return a.reshape(L, V).astype(np.float64)


def hf_config(tied, vocab=VOCAB):
    return MambaConfig(vocab_size=vocab, hidden_size=HIDDEN, num_hidden_layers=LAYERS, state_size=STATE,
                       expand=2, conv_kernel=4, use_bias=False, use_conv_bias=True, layer_norm_epsilon=1e-5,
                       time_step_rank="auto", residual_in_fp32=True, tie_word_embeddings=tied)


def is_tied(model):
    return model.lm_head.weight.data_ptr() == model.backbone.embeddings.weight.data_ptr()


def perturb(model, seed):
    """Move every parameter away from its structured initial value so that nothing is trivially equal."""
    g = torch.Generator().manual_seed(seed)

    def rn(p):
        return torch.randn(p.shape, generator=g, dtype=torch.float32)

    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_log"):
                p.add_(0.2 * rn(p))
            elif name.endswith("dt_proj.bias"):
                p.copy_(-3.0 + 1.0 * rn(p))  # softplus(-3 +- 1): delta around 0.05
            elif name.endswith(".D"):
                p.copy_(1.0 + 0.3 * rn(p))
            elif "norm" in name:
                p.copy_(1.0 + 0.2 * rn(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * rn(p))
            else:
                p.add_(0.02 * rn(p))


def hf_logits(model, ids):
    with torch.no_grad():
        out = model(torch.tensor([ids], dtype=torch.long), use_cache=False)
    return out.logits[0].detach().float().cpu().numpy().astype(np.float64)


def hf_load(folder):
    """from_pretrained in fp32 on the CPU; raises if transformers reports missing or unexpected keys
    (a tied lm_head.weight may be absent when the model really is tied)."""
    try:
        model, info = MambaForCausalLM.from_pretrained(folder, local_files_only=True, output_loading_info=True)
    except TypeError:
        model, info = MambaForCausalLM.from_pretrained(folder, local_files_only=True), {}
    model = model.float().eval()

    def keys(name):
        v = info.get(name) if isinstance(info, dict) else getattr(info, name, None)
        return list(v or [])

    missing = [k for k in keys("missing_keys") if not (k == "lm_head.weight" and is_tied(model))]
    problems = {"missing": missing, "unexpected": keys("unexpected_keys"),
                "mismatched": [str(x) for x in keys("mismatched_keys")]}
    bad = {k: v for k, v in problems.items() if v}
    if bad:
        raise RuntimeError(f"transformers loading {folder}: {bad}")
    return model


def compare(name, got, want, tol_rel, what, pad_zero=False):
    """got (krait-like, V >= want's V) against want over want's columns."""
    if got.shape[0] != want.shape[0] or got.shape[1] < want.shape[1]:
        report("FAIL", name, f"{what}: shapes {got.shape} vs {want.shape}")
        return
    V = want.shape[1]
    scale = max(1.0, float(np.max(np.abs(want))))
    diff = float(np.max(np.abs(got[:, :V] - want)))
    tol = tol_rel * scale
    ok = np.isfinite(got).all() and diff <= tol
    extra = ""
    if pad_zero and got.shape[1] > V:
        pad = float(np.max(np.abs(got[:, V:])))
        ok = ok and pad == 0.0
        extra = f"; pad logits {V}..{got.shape[1] - 1} max |.| {pad:.1e} (must be 0)"
    report("PASS" if ok else "FAIL", name,
           f"{what}: max |diff| {diff:.2e} (tol {tol:.1e}), {got.shape[0]} x {V}{extra}")


def check(name, fn):
    try:
        fn()
    except Exception as e:  # one line per failed check, the traceback on stderr
        report("FAIL", name, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        traceback.print_exc(file=sys.stderr)


def st_path(folder):
    p = os.path.join(folder, "model.safetensors")
    if not os.path.exists(p):
        raise RuntimeError(f"{folder}: no single model.safetensors (sharded save?)")
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("krait_model", help="path of the krait-model binary")
    ap.add_argument("--work", help="working folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    ap.add_argument("--tol", type=float, default=1e-4, help="fp32 tolerance relative to max(1, max|logit|)")
    args = ap.parse_args()
    if not os.access(args.krait_model, os.X_OK):
        print(f"FAIL setup: {args.krait_model} is not an executable", flush=True)
        return 1
    work = args.work or tempfile.mkdtemp(prefix="krait-hf-")
    os.makedirs(work, exist_ok=True)
    k = Krait(args.krait_model, work)
    torch.manual_seed(0)
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    rng = np.random.default_rng(1234)
    ids = [int(x) for x in rng.integers(0, VOCAB, size=150)]  # longer than a scan chunk
    print(f"# torch {torch.__version__}, transformers {transformers.__version__}, numpy {np.__version__}; "
          f"work {work}", flush=True)
    P = lambda *a: os.path.join(work, *a)  # noqa: E731

    # ---- the HF models and their folders --------------------------------------------------------
    models, ref = {}, {}
    for tied in (True, False):
        key = "tied" if tied else "untied"
        m = MambaForCausalLM(hf_config(tied)).float().eval()
        perturb(m, 11 if tied else 12)
        m.save_pretrained(P(f"hf-{key}"))
        models[key] = m
        ref[key] = hf_logits(m, ids)
    stored = load_file(st_path(P("hf-tied")))
    print(f"# save_pretrained of the tied model stored: {sorted(n for n in stored if 'layers' not in n)}; "
          f"config keys: {sorted(json.load(open(P('hf-tied', 'config.json'))).keys())}", flush=True)

    def c_tied():
        compare("hf-tied", k.logits(P("hf-tied"), ids), ref["tied"], args.tol, "krait vs transformers", True)

    def c_untied():
        if is_tied(models["untied"]):
            report("SKIP", "hf-untied", "this transformers ties lm_head despite tie_word_embeddings=False")
            return
        compare("hf-untied", k.logits(P("hf-untied"), ids), ref["untied"], args.tol, "krait vs transformers",
                True)

    def rename_embedding(src, dst, add_head=False):
        shutil.copytree(src, dst, dirs_exist_ok=True)
        t = load_file(st_path(dst))
        emb = t.pop("backbone.embeddings.weight")
        t["backbone.embedding.weight"] = emb
        if add_head:
            t["lm_head.weight"] = emb.clone()
        save_file({n: v.contiguous() for n, v in t.items()}, st_path(dst), metadata={"format": "pt"})

    def c_renamed():
        rename_embedding(P("hf-tied"), P("hf-renamed"))
        compare("hf-embedding-name", k.logits(P("hf-renamed"), ids), ref["tied"], args.tol,
                "backbone.embedding.weight, krait vs transformers", True)

    def c_head_stored():
        shutil.copytree(P("hf-tied"), P("hf-head"), dirs_exist_ok=True)
        t = load_file(st_path(P("hf-head")))
        t["lm_head.weight"] = t["backbone.embeddings.weight"].clone()
        save_file({n: v.contiguous() for n, v in t.items()}, st_path(P("hf-head")), metadata={"format": "pt"})
        compare("hf-lm-head-stored", k.logits(P("hf-head"), ids), ref["tied"], args.tol,
                "tied config with lm_head.weight stored, krait vs transformers", True)

    def c_original():
        rename_embedding(P("hf-tied"), P("hf-orig"))
        cfg = {"d_model": HIDDEN, "d_intermediate": 0, "n_layer": LAYERS, "vocab_size": VOCAB,
               "ssm_cfg": {"d_state": STATE}, "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True,
               "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 8,
               "tie_embeddings": True}
        with open(P("hf-orig", "config.json"), "w") as f:
            json.dump(cfg, f)
        compare("hf-original-config", k.logits(P("hf-orig"), ids), ref["tied"], args.tol,
                "state-spaces config keys + backbone.embedding.weight, krait vs transformers", True)

    for name, fn in (("hf-tied", c_tied), ("hf-untied", c_untied), ("hf-embedding-name", c_renamed),
                     ("hf-lm-head-stored", c_head_stored), ("hf-original-config", c_original)):
        check(name, fn)

    # ---- krait folders into transformers ------------------------------------------------------
    def both_ways(name, folder, what):
        got_k = k.logits(folder, ids)
        model = hf_load(folder)
        got_hf = hf_logits(model, ids)
        if got_hf.shape != got_k.shape:
            raise RuntimeError(f"transformers gives {got_hf.shape} logits, krait {got_k.shape}")
        compare(name, got_k, got_hf, args.tol, what)
        return got_k

    k32 = {}

    def c_convert(key, dtype):
        name = f"krait-convert-{dtype}" + ("" if key == "tied" else "-untied")
        if key == "untied" and is_tied(models["untied"]):
            report("SKIP", name, "no untied HF model")
            return
        out = P(f"k-{key}-{dtype}")
        k.run("convert", P(f"hf-{key}"), "--out", out, "--dtype", dtype, "--overwrite")
        got = both_ways(name, out, f"transformers.from_pretrained of krait's {dtype} folder vs krait")
        if dtype == "f32":
            k32[key] = got
            compare(name + "-vs-hf", got, ref[key], args.tol, "krait's f32 folder vs the original HF model")
        elif key == "tied":
            loose = 0.1 if dtype == "bf16" else 0.02
            compare(f"krait-convert-{dtype}-vs-f32", got, ref[key], loose,
                    f"{dtype} weights vs the fp32 model (rounding only)")

    for key, dtype in (("tied", "f32"), ("untied", "f32"), ("tied", "bf16"), ("tied", "f16")):
        check(f"krait-convert-{dtype}-{key}", lambda key=key, dtype=dtype: c_convert(key, dtype))

    def c_init(tied):
        name = "krait-init" + ("" if tied else "-untied")
        cfg = {"hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "vocab_size": VOCAB, "state_size": STATE,
               "tie_word_embeddings": tied}
        cpath = P(f"init-{tied}.json")
        with open(cpath, "w") as f:
            json.dump(cfg, f)
        out = P(f"k-init-{'tied' if tied else 'untied'}")
        k.run("init", cpath, "--out", out, "--seed", "7", "--overwrite")
        both_ways(name, out, "krait-initialised folder, transformers vs krait")

    check("krait-init", lambda: c_init(True))
    check("krait-init-untied", lambda: c_init(False))

    def c_resave():
        if "tied" not in k32:
            report("SKIP", "hf-resave", "krait-convert-f32 did not run")
            return
        model = hf_load(P("k-tied-f32"))
        model.save_pretrained(P("hf-resave"))
        compare("hf-resave", k.logits(P("hf-resave"), ids), k32["tied"], args.tol,
                "krait folder -> transformers -> save_pretrained -> krait")

    check("hf-resave", c_resave)

    n_fail = sum(1 for s, _ in RESULTS if s == "FAIL")
    n_pass = sum(1 for s, _ in RESULTS if s == "PASS")
    n_skip = sum(1 for s, _ in RESULTS if s == "SKIP")
    print(f"{n_pass} passed, {n_fail} failed, {n_skip} skipped", flush=True)
    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
