#!/usr/bin/env python3
"""tests/gpu/summary.py KIND FILE — one table of tests/gpu/run.sh's summary from a JSON-lines
file: KIND is bench (bench_ops_gpu), infer (krait-bench generate / prefill --json) or hf_speed
(tests/gpu/hf_speed.py). Lines that are not JSON are skipped; each row is indented three spaces."""
import json
import sys


def rows(path):
    for line in open(path):
        try:
            yield json.loads(line)
        except ValueError:
            continue


def bench(r):
    b = r.get("bench")
    if b == "copy":
        return f"copy D2D           {r['gbps']:8.1f} GB/s"
    if b == "gemm_bf16":
        return f"gemm {r['shape']:<14}{r['tflops']:8.1f} TFLOP/s  ({r['ms']:.3f} ms)"
    if b == "gemv_bf16":
        return (f"gemv {r['shape']:<16} M{r['m']} {r['ms']*1e3:7.1f} us  {100*r['bw_fraction']:3.0f}% of copy  "
                f"(cuBLASLt {r['cublaslt_ms']*1e3:.1f} us, {100*r['cublaslt_bw_fraction']:.0f}%)")
    if b == "scan_fwd_infer":
        return (f"{b:<13} B{r['B']} L{r['L']} E{r['E']} N{r['N']}: {r['ms']:.3f} ms  "
                f"(training forward {r['train_fwd_ms']:.3f} ms)  sfu {100*r['sfu_fraction']:.0f}% of {r['sfu_bound_ms']:.3f} ms")
    if b.startswith("scan"):
        return (f"{b:<13} B{r['B']} L{r['L']} E{r['E']} N{r['N']} c{r.get('chunk', '-')}: {r['ms']:.3f} ms  "
                f"bw {100*r['bw_fraction']:.0f}% of {r['bw_bound_ms']:.3f} ms  "
                f"sfu {100*r['sfu_fraction']:.0f}% of {r['sfu_bound_ms']:.3f} ms")
    return f"{b:<18} {r['ms']:.3f} ms  {r['gbps']:.0f} GB/s  {100*r['bw_fraction']:.0f}% of copy"


def infer(r):
    if "bandwidth_fraction" in r:
        return (f"decode  {r['shape']:<5} B{r['batch']:<3} {r['tokens_per_s']:10.0f} tok/s  {r['step_ms']:.3f} ms/step  "
                f"{r['bytes_per_token']/1e6:7.1f} MB/tok  copy {r['copy_gbps']:.0f} GB/s  bound {r['bound_tokens_per_s']:.0f}  "
                f"{100*r['bandwidth_fraction']:.0f}%  graphs={r.get('graphs')} dev_sampling={r.get('device_sampling')}"
                + ("" if "gemv" not in r else "  small-row products on " + ("gemv_kernel" if r["gemv"] else "cuBLASLt")))
    return (f"prefill {r['shape']:<5} {r['tokens']:>8} tok {r['tokens_per_s']:10.0f} tok/s  {r['gflops']:.0f} GFLOP/s  "
            f"{100*r['sgemm_fraction']:.0f}% of GEMM")


def hf_speed(r):
    what = (f"decode  {r['shape']:<5} B{r['batch']:<3}" if r["bench"] == "decode"
            else f"prefill {r['shape']:<5} {r['tokens']:>8} tok")
    return f"{what} {r['tokens_per_s']:10.0f} tok/s  ({r['stack']}, fused kernels: {r['fused_kernels']})"


if __name__ == "__main__":
    fmt = {"bench": bench, "infer": infer, "hf_speed": hf_speed}[sys.argv[1]]
    for r in rows(sys.argv[2]):
        print("   " + fmt(r))
