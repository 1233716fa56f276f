#!/usr/bin/env bash
# tests/gpu/profile.sh KRAIT_BENCH OUT_DIR — where the GPU time of inference goes, kernel by
# kernel, measured by Nsight Compute (ncu, one metric: gpu__time_duration.sum, clocks left alone):
#   prefill  one 4096-token chunk of the 130m shape (the bench's warm-up chunk and one timed chunk);
#   decode   the 1.4b shape at batch 1: a 4-token prompt and 4 new tokens, one run.
# Writes OUT_DIR/profile_{prefill,decode}.csv (ncu's raw page) and prints, for each, the kernels
# by total time: calls, total and mean microseconds and share. The few launches of krait-bench's
# GEMM-rate and copy-rate measurements are counted too (a handful of GEMM and copy kernels).
# Exit status: ncu's.
set -u -o pipefail
kb=$1
out=$2
if ! command -v ncu >/dev/null 2>&1; then
  for d in /usr/local/cuda/bin /opt/nvidia/nsight-compute/*; do [ -x "$d/ncu" ] && { PATH="$PATH:$d"; break; }; done
fi
command -v ncu >/dev/null 2>&1 || { echo "profile.sh: ncu not found" >&2; exit 3; }
mkdir -p "$out"
table() { # CSV: kernels by total time
  python3 - "$1" <<'PY'
import csv, sys
from collections import defaultdict
rows = list(csv.reader(open(sys.argv[1], newline="")))
head = next((i for i, r in enumerate(rows) if "Kernel Name" in r), None)
if head is None:
    print("   (no kernels in the profile)"); sys.exit(0)
h = rows[head]
ki, ti = h.index("Kernel Name"), h.index("gpu__time_duration.sum")
scale = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}
unit = 1e-3
tot, calls = defaultdict(float), defaultdict(int)
for r in rows[head + 1:]:
    if len(r) <= max(ki, ti):
        continue
    v = r[ti].replace(",", "")
    try:
        x = float(v)
    except ValueError:
        unit = scale.get(v.strip(), unit)  # the units row
        continue
    name = r[ki].removeprefix("void ").split("(")[0].split("<")[0][:60]
    tot[name] += x * unit
    calls[name] += 1
s = sum(tot.values()) or 1
print(f"   {'kernel':<60} {'calls':>6} {'total us':>10} {'mean us':>9} {'share':>6}")
for name, t in sorted(tot.items(), key=lambda kv: -kv[1])[:18]:
    print(f"   {name:<60} {calls[name]:>6} {t:10.1f} {t / calls[name]:9.2f} {100 * t / s:5.1f}%")
print(f"   {'all kernels':<60} {sum(calls.values()):>6} {s:10.1f}")
PY
}
NCU=(ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw --print-units base)
rc=0
echo "== prefill: 130m, one chunk of 4096 tokens (plus the warm-up chunk)"
"${NCU[@]}" --log-file "$out/profile_prefill.csv" "$kb" prefill --device cuda --shape 130m --tokens 4096 \
  --chunk 4096 --repeats 1 > "$out/profile_prefill.out" 2>&1 || rc=$?
table "$out/profile_prefill.csv"
echo "== decode: 1.4b, batch 1, 4 new tokens"
"${NCU[@]}" --log-file "$out/profile_decode.csv" "$kb" generate --device cuda --shape 1.4b --batch 1 --prompt 4 \
  --tokens 4 --repeats 1 > "$out/profile_decode.out" 2>&1 || rc=$?
table "$out/profile_decode.csv"
exit $rc
