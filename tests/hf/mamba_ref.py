#!/usr/bin/env python3
"""tests/hf/mamba_ref.py - independent pure-Python (stdlib only) Mamba-1 reference vs krait.

Written from the official definition (state-spaces/mamba `mamba_simple.py` + `selective_scan_ref`,
`block.py`/`mixer_seq_simple.py`, HF `modeling_mamba.py`), as summarised with sources in
shared/reference/mamba.md - not from krait's C code.  All arithmetic is float64.

Usage:  python3 tests/hf/mamba_ref.py KRAIT_MODEL_BINARY [WORKDIR]

For each of a few tiny configurations it
  1. runs `krait-model init CONFIG --out DIR --seed 7`,
  2. compares krait's logits to this reference on that freshly initialised folder, and
  3. writes a perturbed copy (deterministic noise added to EVERY tensor, written as a
     safetensors file by this script, F32 or BF16) and compares on that folder too, so that
     every parameter (conv bias, D, dt bias, norm weights, A_log, ...) influences the logits;
  4. checks that its own comparison is sensitive: each of a list of deliberate one-line
     "wrong semantics" variants of this reference must differ from the correct reference by
     far more than the tolerance (otherwise a real bug of that kind could hide).

krait runs with `--device cpu-ref --threads 1` (env MAMBA_REF_DEVICE=cpu|cuda picks another backend).
Prints one line per model folder: max |krait - ref|, max |ref|, the relative error, PASS/FAIL.
Exit 0 when every relative error < TOL, 1 otherwise, 77 when something needed is missing.

Tolerance: krait computes in fp32, this reference in float64.  Each logit is the result of a
few hundred dependent fp32 operations (dot products of length <= 64, exp/log, a 12-step
recurrence, 2 layers), so the expected relative error is ~ a few 1e-7 (measured: ~1e-7).
TOL = 1e-4 * max|logit| leaves a ~100x margin for round-off, while any semantic slip
(step 4 lists the ones checked) changes logits by >= 6e-3 relative (most by 1e-1 .. 1), i.e.
>= 60x TOL; variants closer than 10x TOL are reported as "weak mutations".
"""
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

TOL = 1e-4
SKIP = 77

# --------------------------------------------------------------------------------------------
# safetensors


def _f16_to_float(h):
    s = -1.0 if h & 0x8000 else 1.0
    e = (h >> 10) & 0x1F
    m = h & 0x3FF
    if e == 0:
        return s * m * 2.0 ** -24
    if e == 31:
        return s * (math.inf if m == 0 else math.nan)
    return s * (1.0 + m / 1024.0) * 2.0 ** (e - 15)


def read_safetensors(path):
    """-> {name: (dtype, shape, flat list of Python floats)}"""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = blob[base + b:base + e]
        shape = list(info["shape"])
        numel = 1
        for s in shape:
            numel *= s
        dt = info["dtype"]
        if dt == "F32":
            vals = list(struct.unpack("<%df" % numel, raw))
        elif dt == "F64":
            vals = list(struct.unpack("<%dd" % numel, raw))
        elif dt == "BF16":
            hs = struct.unpack("<%dH" % numel, raw)
            vals = list(struct.unpack("<%df" % numel, struct.pack("<%dI" % numel, *[h << 16 for h in hs])))
        elif dt == "F16":
            vals = [_f16_to_float(h) for h in struct.unpack("<%dH" % numel, raw)]
        else:
            raise ValueError("tensor %s: dtype %s not supported by the reference" % (name, dt))
        if len(vals) != numel:
            raise ValueError("tensor %s: %d values for shape %s" % (name, len(vals), shape))
        out[name] = (dt, shape, vals)
    return out


def _to_bf16_bits(x):
    (u,) = struct.unpack("<I", struct.pack("<f", x))
    if (u & 0x7F800000) == 0x7F800000:  # inf / nan
        return u >> 16
    u += 0x7FFF + ((u >> 16) & 1)  # round to nearest even
    return (u >> 16) & 0xFFFF


def write_safetensors(path, tensors, dtype="F32"):
    """tensors: {name: (shape, flat values)}; writes every tensor in `dtype` (F32 or BF16)."""
    header, chunks, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        shape, vals = tensors[name]
        if dtype == "F32":
            data = struct.pack("<%df" % len(vals), *vals)
        elif dtype == "BF16":
            data = struct.pack("<%dH" % len(vals), *[_to_bf16_bits(v) for v in vals])
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        chunks.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


# --------------------------------------------------------------------------------------------
# the model, written plainly


def silu(v):
    if v >= 0:
        return v / (1.0 + math.exp(-v))
    e = math.exp(v)
    return v * e / (1.0 + e)


def softplus(v):
    # F.softplus (beta 1, threshold 20) / CUDA kernel: v <= 20 ? log1p(exp(v)) : v
    return math.log1p(math.exp(v)) if v <= 20.0 else v


def matvec(W, rows, cols, x, bias=None):
    """y = W x (+ bias); W row-major [rows, cols] flat (a torch Linear weight [out, in])."""
    y = []
    for r in range(rows):
        base = r * cols
        s = 0.0
        for c in range(cols):
            s += W[base + c] * x[c]
        if bias is not None:
            s += bias[r]
        y.append(s)
    return y


def rmsnorm(x, w, eps):
    ms = sum(v * v for v in x) / len(x)
    inv = 1.0 / math.sqrt(ms + eps)
    return [x[i] * inv * w[i] for i in range(len(x))]


class Config:
    def __init__(self, cfg):
        def get(*keys, default=None):
            for k in keys:
                if k in cfg and cfg[k] is not None:
                    return cfg[k]
            return default

        self.D = int(get("hidden_size", "d_model"))
        self.L = int(get("num_hidden_layers", "n_layer"))
        self.V = int(get("vocab_size"))
        self.N = int(get("state_size", default=16))
        self.K = int(get("conv_kernel", default=4))
        expand = get("expand", default=2)
        self.E = int(get("intermediate_size", "d_inner", default=int(expand * self.D)))
        r = get("time_step_rank", "dt_rank", default="auto")
        self.R = int(math.ceil(self.D / 16)) if r == "auto" else int(r)
        self.eps = float(get("layer_norm_epsilon", default=1e-5))
        self.use_bias = bool(get("use_bias", default=False))
        self.use_conv_bias = bool(get("use_conv_bias", default=True))
        self.tie = bool(get("tie_word_embeddings", default=True))
        self.head = (cfg.get("krait") or {}).get("head", "lm")


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = Config(json.load(f))
    raw = read_safetensors(os.path.join(folder, "model.safetensors"))
    used = set()

    def T(name, shape, optional=False):
        if name not in raw:
            if optional:
                return None
            raise KeyError("missing tensor " + name)
        dt, sh, vals = raw[name]
        if sh != shape:
            raise ValueError("%s: shape %s, expected %s" % (name, sh, shape))
        used.add(name)
        return vals

    D, E, N, K, R = cfg.D, cfg.E, cfg.N, cfg.K, cfg.R
    emb_name = "backbone.embeddings.weight" if "backbone.embeddings.weight" in raw else "backbone.embedding.weight"
    Vrows = raw[emb_name][1][0]
    m = {"cfg": cfg, "Vrows": Vrows, "emb": T(emb_name, [Vrows, D]), "layers": []}
    for i in range(cfg.L):
        p = "backbone.layers.%d." % i
        ly = {
            "norm": T(p + "norm.weight", [D]),
            "in_w": T(p + "mixer.in_proj.weight", [2 * E, D]),
            "in_b": T(p + "mixer.in_proj.bias", [2 * E], optional=not cfg.use_bias),
            "conv_w": T(p + "mixer.conv1d.weight", [E, 1, K]),
            "conv_b": T(p + "mixer.conv1d.bias", [E], optional=not cfg.use_conv_bias),
            "x_w": T(p + "mixer.x_proj.weight", [R + 2 * N, E]),
            "dt_w": T(p + "mixer.dt_proj.weight", [E, R]),
            "dt_b": T(p + "mixer.dt_proj.bias", [E]),
            "A_log": T(p + "mixer.A_log", [E, N]),
            "Dskip": T(p + "mixer.D", [E]),
            "out_w": T(p + "mixer.out_proj.weight", [D, E]),
            "out_b": T(p + "mixer.out_proj.bias", [D], optional=not cfg.use_bias),
        }
        m["layers"].append(ly)
    m["norm_f"] = T("backbone.norm_f.weight", [D])
    head = T("lm_head.weight", [Vrows, D], optional=True)
    if cfg.tie or head is None:
        # tied: lm_head.weight, when stored, must equal the embedding
        if head is not None and head != m["emb"]:
            raise ValueError("tie_word_embeddings true but lm_head.weight differs from the embedding")
        head = m["emb"]
    m["head"] = head
    unused = sorted(set(raw) - used)
    if unused:
        raise ValueError("tensors the Mamba-1 definition does not use: %s" % unused)
    return m


def mixer(ly, cfg, xs, mut):
    """Mamba.forward for one sequence: xs = list over time of D-vectors -> list of D-vectors."""
    D, E, N, K, R = cfg.D, cfg.E, cfg.N, cfg.K, cfg.R
    Lseq = len(xs)
    # 1. in_proj -> x (first E), z (last E)
    xz = [matvec(ly["in_w"], 2 * E, D, h, ly["in_b"]) for h in xs]
    if "swap_xz" in mut:
        xz = [v[E:] + v[:E] for v in xz]
    x = [v[:E] for v in xz]
    z = [v[E:] for v in xz]
    # 2. causal depthwise conv (cross-correlation, zero left padding; tap K-1 = current token), SiLU
    u = []
    for t in range(Lseq):
        ut = []
        for e in range(E):
            s = ly["conv_b"][e] if ly["conv_b"] is not None and "no_conv_bias" not in mut else 0.0
            for k in range(K):
                tk = t - (K - 1) + k
                if tk >= 0:
                    w = ly["conv_w"][e * K + (K - 1 - k if "conv_flip" in mut else k)]
                    s += w * x[tk][e]
            ut.append(silu(s))
        u.append(ut)
    # 3. x_proj -> dt_low | B | C ; 4. dt_proj (+ bias) ; softplus
    A = [[-math.exp(ly["A_log"][e * N + n]) for n in range(N)] for e in range(E)]
    if "A_no_neg" in mut:
        A = [[-ly["A_log"][e * N + n] for n in range(N)] for e in range(E)]
    h = [[0.0] * N for _ in range(E)]
    out = []
    for t in range(Lseq):
        dbl = matvec(ly["x_w"], R + 2 * N, E, u[t])
        dt_low, Bv, Cv = dbl[:R], dbl[R:R + N], dbl[R + N:]
        if "swap_BC" in mut:
            Bv, Cv = Cv, Bv
        dt_b = None if "no_dt_bias" in mut else ly["dt_b"]
        dlt = matvec(ly["dt_w"], E, R, dt_low, dt_b)
        if "no_softplus" not in mut:
            dlt = [softplus(v) for v in dlt]
        y = []
        for e in range(E):
            he = h[e]
            acc = 0.0
            for n in range(N):
                he[n] = math.exp(dlt[e] * A[e][n]) * he[n] + dlt[e] * Bv[n] * u[t][e]
                acc += Cv[n] * he[n]
            if "no_D" not in mut:
                acc += ly["Dskip"][e] * u[t][e]
            if "no_gate" not in mut:
                acc *= silu(z[t][e])
            y.append(acc)
        # 7. out_proj
        out.append(matvec(ly["out_w"], D, E, y, ly["out_b"]))
        if "reset_state" in mut:
            h = [[0.0] * N for _ in range(E)]
    return out


def forward(m, ids, mut=frozenset()):
    """MambaLMHeadModel: embedding -> L x [r = r + mixer(norm(r))] -> norm_f -> lm_head."""
    cfg = m["cfg"]
    D = cfg.D
    resid = [list(m["emb"][i * D:(i + 1) * D]) for i in ids]  # the first residual is the embedding
    for ly in m["layers"]:
        normed = [rmsnorm(r, ly["norm"], cfg.eps) if "no_norm" not in mut else r for r in resid]
        mo = mixer(ly, cfg, normed, mut)
        if "no_residual" in mut:
            resid = mo
        else:
            resid = [[resid[t][d] + mo[t][d] for d in range(D)] for t in range(len(ids))]
    hid = [rmsnorm(r, m["norm_f"], cfg.eps) for r in resid]
    head = m["emb"] if "tie_head" in mut else m["head"]
    return [matvec(head, m["Vrows"], D, hv) for hv in hid]


MUTATIONS = ["swap_xz", "no_conv_bias", "conv_flip", "A_no_neg", "swap_BC", "no_dt_bias", "no_softplus",
             "no_D", "no_gate", "reset_state", "no_norm", "no_residual", "tie_head"]


# --------------------------------------------------------------------------------------------
# driver


def perturb(src, dst, seed, dtype="F32"):
    """Copy a model folder, adding deterministic noise to every tensor (so nothing is degenerate)."""
    os.makedirs(dst, exist_ok=True)
    shutil.copy(os.path.join(src, "config.json"), os.path.join(dst, "config.json"))
    raw = read_safetensors(os.path.join(src, "model.safetensors"))
    rng = random.Random(seed)
    out = {}
    for name in sorted(raw):
        _, shape, vals = raw[name]
        if name.endswith("dt_proj.bias"):
            # init gives softplus(bias) in [1e-3, 0.1]: too small for the recurrence to matter much.
            # Shift to dt in ~[0.1, 1.3] (still noise-perturbed per channel) so h_t carries weight.
            new = [rng.uniform(-2.0, 1.0) + 0.01 * v for v in vals]
        else:
            rms = math.sqrt(sum(v * v for v in vals) / len(vals)) if vals else 0.0
            amp = 0.3 * rms + 0.1
            new = [v + amp * rng.uniform(-1.0, 1.0) for v in vals]
        out[name] = (shape, new)
    write_safetensors(os.path.join(dst, "model.safetensors"), out, dtype)


def read_f32(path, rows, cols):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) != 4 * rows * cols:
        raise ValueError("%s: %d bytes, expected %d x %d fp32" % (path, len(data), rows, cols))
    flat = struct.unpack("<%df" % (rows * cols), data)
    return [list(flat[r * cols:(r + 1) * cols]) for r in range(rows)]


def krait_logits(binary, folder, ids, out):
    cmd = [binary, "logits", folder, "--ids", ",".join(map(str, ids)), "--output", out,
           "--device", os.environ.get("MAMBA_REF_DEVICE", "cpu-ref"), "--threads", "1", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    meta = json.loads(p.stdout.strip().splitlines()[-1])
    return meta, read_f32(out, meta["positions"], meta["vocab_size"])


def max_diff(a, b, ncols):
    md = mx = 0.0
    for ra, rb in zip(a, b):
        for c in range(ncols):
            md = max(md, abs(ra[c] - rb[c]))
            mx = max(mx, abs(rb[c]))
    return md, mx


CONFIGS = {
    # defaults: tied head, no in/out bias, conv bias, K=4, R = ceil(16/16) = 1, eps 1e-5
    "tied": {"hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 40, "state_size": 4, "expand": 2,
             "conv_kernel": 4, "krait": {"modality": "text", "head": "lm"}},
    # variations: in/out_proj bias, no conv bias, K=3, R=3, untied head, eps 1e-3, odd unpadded vocab
    "untied": {"hidden_size": 16, "num_hidden_layers": 2, "vocab_size": 37, "pad_vocab_size_multiple": 1,
               "state_size": 4, "expand": 2, "conv_kernel": 3, "time_step_rank": 3, "use_bias": True,
               "use_conv_bias": False, "tie_word_embeddings": False, "layer_norm_epsilon": 1e-3,
               "krait": {"modality": "text", "head": "lm"}},
    # single layer, expand 3, N=6, K=2 (stored as BF16 after perturbation)
    "one_layer": {"hidden_size": 12, "num_hidden_layers": 1, "vocab_size": 24, "state_size": 6, "expand": 3,
                  "conv_kernel": 2, "time_step_rank": 2, "krait": {"modality": "text", "head": "lm"}},
}


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else SKIP
    binary = argv[1]
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print("SKIP: %s is not an executable krait-model" % binary)
        return SKIP
    work = argv[2] if len(argv) > 2 else tempfile.mkdtemp(prefix="mamba_ref_")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(12345)
    failures = 0
    sens_min = math.inf
    for cname, cfgd in CONFIGS.items():
        cpath = os.path.join(work, cname + ".json")
        with open(cpath, "w") as f:
            json.dump(cfgd, f, indent=1)
        d0 = os.path.join(work, cname)
        p = subprocess.run([binary, "init", cpath, "--out", d0, "--seed", "7", "--threads", "1", "--overwrite"],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            print("SKIP: krait-model init %s failed: %s" % (cname, p.stderr.strip()))
            return SKIP
        folders = [(cname + "/init", d0)]
        d1 = os.path.join(work, cname + "_perturbed")
        dtype = "BF16" if cname == "one_layer" else "F32"
        perturb(d0, d1, seed=1000 + len(folders) + len(cname), dtype=dtype)
        folders.append((cname + "/perturbed-" + dtype.lower(), d1))
        for label, folder in folders:
            m = load_model(folder)
            ids = [rng.randrange(m["cfg"].V) for _ in range(12)]
            meta, kl = krait_logits(binary, folder, ids, os.path.join(work, cname + "_logits.f32"))
            ref = forward(m, ids)
            ncols = min(meta.get("vocab_size_raw", meta["vocab_size"]), m["Vrows"])
            md, mx = max_diff(kl, ref, ncols)
            rel = md / mx if mx > 0 else md
            ok = rel < TOL and len(kl) == len(ids)
            # sensitivity: each wrong-semantics variant must be far from the right answer
            weak = []
            if "perturbed" in label:
                for mu in MUTATIONS:
                    if mu == "tie_head" and m["head"] is m["emb"]:
                        continue
                    if mu == "no_conv_bias" and m["layers"][0]["conv_b"] is None:
                        continue
                    sd, _ = max_diff(forward(m, ids, frozenset([mu])), ref, ncols)
                    sens_min = min(sens_min, sd / mx)
                    if sd / mx < 10 * TOL:
                        weak.append("%s:%.1e" % (mu, sd / mx))
            ok = ok and not weak  # a comparison that cannot see a wrong equation proves nothing
            failures += not ok
            print("%-26s L=%d D=%d E=%d N=%d K=%d R=%d V=%d ids=%d  max|krait-ref|=%.3e  max|ref|=%.3f  "
                  "rel=%.2e  %s%s" % (label, m["cfg"].L, m["cfg"].D, m["cfg"].E, m["cfg"].N, m["cfg"].K,
                                      m["cfg"].R, ncols, len(ids), md, mx, rel, "PASS" if ok else "FAIL",
                                      ("  (weak mutations: %s)" % ",".join(weak)) if weak else ""))
    print("tolerance rel %.0e; smallest relative change from a deliberate semantic mutation: %.2e" % (TOL, sens_min))
    if len(argv) <= 2:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
