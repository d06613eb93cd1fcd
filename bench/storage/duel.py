#!/usr/bin/env python3
"""Time two commands alternately (qemu-img first, vireo second), RUNS times
each, syncing dirty pages and removing the output file before every run so
that neither pays for the other's writeback. Prints "<qemu best> <vireo best>".
Usage: duel.py RUNS OUTPUT_OR_- -- QEMU_CMD... -- VIREO_CMD..."""
import os, subprocess, sys, time

runs, out = int(sys.argv[1]), sys.argv[2]
rest = sys.argv[4:]
split = rest.index("--")
cmds = [rest[:split], rest[split + 1:]]
best = [None, None]
for _ in range(runs):
    for i, cmd in enumerate(cmds):
        if out != "-" and os.path.exists(out):
            os.remove(out)
        os.sync()
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        d = time.monotonic() - t0
        best[i] = d if best[i] is None or d < best[i] else best[i]
print(f"{best[0]:.4f} {best[1]:.4f}")
