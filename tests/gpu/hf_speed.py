#!/usr/bin/env python3
"""tests/gpu/hf_speed.py — the Python stack's speed on the shapes krait-bench measures, on the
same GPU, so that tests/gpu/run.sh can print the two side by side.

Usage:  python3 tests/gpu/hf_speed.py [--quick]

HuggingFace transformers' MambaForCausalLM, random weights, bf16, on cuda:0:
  prefill   one sequence of 2048 tokens (forward, no cache), best of 3 after a warm-up;
  decode    greedy generation of 64 new tokens after a 16-token prompt, batch 1 and 64 (cache on),
            tokens/s counted as batch x (new tokens - 1) / time after the first new token, as
            krait-bench generate counts its decode steps.
Shapes: 130m (D 768, 24 layers) and 1.4b (D 2048, 48 layers), vocabulary 50280, state 16.
One JSON line per figure on stdout; which path transformers took (its fused mamba-ssm kernels or
the plain PyTorch one) is in every line: the image may not hold mamba-ssm, and a comparison must
say which stack it was against. No network: nothing is downloaded.
"""
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import MambaConfig, MambaForCausalLM  # noqa: E402

SHAPES = {"130m": (768, 24), "1.4b": (2048, 48)}


def fast_path():
    try:
        from transformers.models.mamba import modeling_mamba as mm
        return bool(getattr(mm, "is_fast_path_available", False))
    except Exception:  # noqa: BLE001 — only a label
        return False


def build(shape):
    d, n = SHAPES[shape]
    cfg = MambaConfig(vocab_size=50280, hidden_size=d, num_hidden_layers=n, state_size=16, expand=2,
                      conv_kernel=4, use_bias=False, use_conv_bias=True, tie_word_embeddings=True)
    with torch.device("cuda"):
        model = MambaForCausalLM(cfg).to(torch.bfloat16)
    return model.eval()


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def prefill(model, shape, tokens, repeats):
    ids = torch.randint(0, 50280, (1, tokens), device="cuda")
    with torch.inference_mode():
        model(ids, use_cache=False)  # warm-up
        best = min(timed(lambda: model(ids, use_cache=False)) for _ in range(repeats))
    return {"bench": "prefill", "shape": shape, "tokens": tokens, "tokens_per_s": tokens / best}


def decode(model, shape, batch, new):
    ids = torch.randint(0, 50280, (batch, 16), device="cuda")
    kw = dict(do_sample=False, use_cache=True, pad_token_id=0, eos_token_id=None)
    with torch.inference_mode():
        model.generate(ids, max_new_tokens=4, min_new_tokens=4, **kw)  # warm-up
        t_one = timed(lambda: model.generate(ids, max_new_tokens=1, min_new_tokens=1, **kw))
        t_all = timed(lambda: model.generate(ids, max_new_tokens=new, min_new_tokens=new, **kw))
    steps = new - 1
    return {"bench": "decode", "shape": shape, "batch": batch, "new_tokens": new,
            "tokens_per_s": batch * steps / max(t_all - t_one, 1e-9), "step_ms": 1e3 * (t_all - t_one) / steps}


def main():
    quick = "--quick" in sys.argv[1:]
    if not torch.cuda.is_available():
        print("hf_speed.py: no CUDA device", file=sys.stderr)
        return 2
    common = {"stack": "transformers " + transformers.__version__ + ", torch " + torch.__version__,
              "fused_kernels": fast_path(), "dtype": "bf16"}
    for shape in (["130m"] if quick else ["130m", "1.4b"]):
        model = build(shape)
        runs = [lambda: prefill(model, shape, 2048, 3), lambda: decode(model, shape, 1, 64)]
        if shape == "130m":
            runs.append(lambda: decode(model, shape, 64, 64))
        for run in runs:
            r = run()
            r.update(common)
            print(json.dumps(r), flush=True)
        del model
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
