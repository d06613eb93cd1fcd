#!/usr/bin/env python3
"""Time two commands alternately (qemu-img first, vireo second), RUNS times
each, syncing dirty pages and removing the output file before every run so
that neither pays for the other's writeback. Prints
"<qemu best> <vireo best> <qemu best cpu> <vireo best cpu>": wall-clock seconds,
then the CPU seconds (user + system) of the same process, which other load on
the machine disturbs much less than the wall clock.
Usage: duel.py RUNS OUTPUT_OR_- -- QEMU_CMD... -- VIREO_CMD..."""
import os, resource, subprocess, sys, time

runs, out = int(sys.argv[1]), sys.argv[2]
rest = sys.argv[4:]
split = rest.index("--")
cmds = [rest[:split], rest[split + 1:]]
best = [None, None]
best_cpu = [None, None]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


for _ in range(runs):
    for i, cmd in enumerate(cmds):
        if out != "-" and os.path.exists(out):
            os.remove(out)
        os.sync()
        c0 = children_cpu()
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        d = time.monotonic() - t0
        c = children_cpu() - c0
        best[i] = d if best[i] is None or d < best[i] else best[i]
        best_cpu[i] = c if best_cpu[i] is None or c < best_cpu[i] else best_cpu[i]
print(f"{best[0]:.4f} {best[1]:.4f} {best_cpu[0]:.4f} {best_cpu[1]:.4f}")
