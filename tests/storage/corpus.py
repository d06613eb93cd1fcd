#!/usr/bin/env python3
"""Build the bad-input corpus of the storage suite: truncated and corrupt qcow2
images derived from a valid one made by qemu-img. Usage: corpus.py DIR
Writes DIR/<name>.qcow2 for each case and DIR/cases.txt ("name<TAB>expect"),
expect = 'refused' (opening fails with a message), 'detected' (reading fails or
check reports corruption) or 'any' (may work; must not crash or write)."""
import os, shutil, struct, subprocess, sys

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
base = os.path.join(d, "good.qcow2")
subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "8M"], check=True)
subprocess.run(["qemu-io", "-c", "write -P 0x5a 0 192k", "-c", "write -P 0x33 4M 64k", base],
               check=True, stdout=subprocess.DEVNULL)
comp = os.path.join(d, "good-comp.qcow2")
subprocess.run(["qemu-img", "convert", "-c", "-O", "qcow2", base, comp], check=True)
good = open(base, "rb").read()
goodc = open(comp, "rb").read()
CS = 65536

def hdr(img, fmt, off):
    return struct.unpack_from(fmt, img, off)[0]

L1 = hdr(good, ">Q", 40)
RT = hdr(good, ">Q", 48)
L2 = hdr(good, ">Q", L1) & 0x00fffffffffffe00
cases = []

def make(name, expect, data=None, patches=(), src=None, length=None):
    img = bytearray(data if data is not None else (src if src is not None else good))
    for off, fmt, val in patches:
        if fmt == "raw":
            img[off:off + len(val)] = val
        else:
            struct.pack_into(fmt, img, off, val)
    if length is not None:
        img = img[:length]
    open(os.path.join(d, name + ".qcow2"), "wb").write(img)
    cases.append((name, expect))

make("bad-magic", "refused", patches=[(0, ">I", 0x12345678)])
make("truncated-header", "refused", length=40)
make("truncated-at-l1", "refused", length=L1)
make("truncated-mid-data", "detected", length=L2 + CS + 4096)
make("version-1", "refused", patches=[(4, ">I", 1)])
make("version-4", "refused", patches=[(4, ">I", 4)])
make("cluster-bits-8", "refused", patches=[(20, ">I", 8)])
make("cluster-bits-30", "refused", patches=[(20, ">I", 30)])
make("absurd-virtual-size", "refused", patches=[(24, ">Q", 1 << 63)])
make("l1-too-small", "refused", patches=[(24, ">Q", 1 << 40)])
make("l1-size-absurd", "refused", patches=[(36, ">I", 0x7fffffff)])
make("l1-outside-file", "refused", patches=[(40, ">Q", 1 << 40)])
make("l1-unaligned", "refused", patches=[(40, ">Q", L1 + 8)])
make("l1-overlaps-refcount-table", "refused", patches=[(40, ">Q", RT)])
make("l1-overlaps-header", "refused", patches=[(40, ">Q", 0)])
make("refcount-table-outside-file", "refused", patches=[(48, ">Q", 1 << 40)])
make("refcount-table-zero-clusters", "refused", patches=[(56, ">I", 0)])
make("refcount-table-huge", "refused", patches=[(56, ">I", 0x7fffffff)])
make("refcount-order-7", "refused", patches=[(96, ">I", 7)])
make("refcount-entry-unaligned", "refused", patches=[(RT, ">Q", 2 * CS + 100)])
make("header-length-small", "refused", patches=[(100, ">I", 50)])
make("header-length-huge", "refused", patches=[(100, ">I", 0x100000)])
make("unknown-incompatible-bit", "refused", patches=[(72, ">Q", 1 << 40)])
make("external-data-file-bit", "refused", patches=[(72, ">Q", 1 << 2)])
make("extended-l2-bit", "refused", patches=[(72, ">Q", 1 << 4)])
make("encrypted", "refused", patches=[(32, ">I", 1)])
make("corrupt-bit", "any", patches=[(72, ">Q", 1 << 1)])
make("compression-type-mismatch", "refused", patches=[(104, "raw", b"\x01")])
make("extension-overrun", "refused", patches=[(112, ">I", 0xe2792aca), (116, ">I", 0xfffffff0)])
make("backing-name-too-long", "refused", patches=[(8, ">Q", 0x200), (16, ">I", 5000)])
make("backing-name-outside-cluster", "refused", patches=[(8, ">Q", CS - 4), (16, ">I", 100)])
make("l1-entry-points-at-header", "any", patches=[(L1, ">Q", (1 << 63) | 0)])
make("l1-entry-points-at-refcount-table", "detected", patches=[(L1, ">Q", (1 << 63) | RT)])
make("l1-entry-beyond-eof", "detected", patches=[(L1, ">Q", (1 << 63) | (1 << 45))])
make("l1-entry-unaligned", "detected", patches=[(L1, ">Q", (1 << 63) | (L2 + 512))])
make("l1-entry-reserved-bits", "detected", patches=[(L1, ">Q", (1 << 63) | L2 | 1)])
make("l2-entry-unaligned", "detected", patches=[(L2, ">Q", (1 << 63) | (L2 + CS + 512))])
make("l2-entry-reserved-bits", "detected", patches=[(L2, ">Q", (1 << 63) | (L2 + CS) | 2)])
make("l2-entry-at-header", "detected", patches=[(L2, ">Q", (1 << 63) | 0 | 1 << 9)])
make("l2-entry-beyond-eof", "detected", patches=[(L2, ">Q", (1 << 63) | (1 << 40))])
make("l2-points-at-l1", "detected", patches=[(L2, ">Q", (1 << 63) | L1)])
make("refcount-saturated", "detected", patches=[(hdr(good, ">Q", RT) + 2 * 4, ">H", 0xffff)])
make("refcount-zero-for-l1", "detected", patches=[(hdr(good, ">Q", RT) + 2 * (L1 // CS), ">H", 0)])
make("snapshot-table-outside", "refused", patches=[(60, ">I", 1), (64, ">Q", 1 << 40)])
make("snapshot-count-absurd", "refused", patches=[(60, ">I", 0xffffffff), (64, ">Q", 3 * CS)])
# compressed images
L1c = hdr(goodc, ">Q", 40)
L2c = hdr(goodc, ">Q", L1c) & 0x00fffffffffffe00
e = hdr(goodc, ">Q", L2c)
x = 62 - (16 - 8)
host = e & ((1 << x) - 1)
make("compressed-garbage", "detected", src=goodc, patches=[(host, "raw", b"\xff" * 64)])
make("compressed-beyond-eof", "detected", src=goodc, patches=[(L2c, ">Q", (1 << 62) | (1 << 40))])
make("compressed-huge-length", "detected", src=goodc,
     patches=[(L2c, ">Q", (1 << 62) | (((1 << (16 - 8)) - 1) << x) | host)])
# backing chains
def backing(name, target, fmt=b"qcow2"):
    img = bytearray(good)
    ext = struct.pack(">II", 0xe2792aca, len(fmt)) + fmt.ljust((len(fmt) + 7) // 8 * 8, b"\0")
    # keep qemu's extensions after ours: rebuild area from 112
    tail_end = good.index(b"\0" * 16, 112)
    img[112:112 + len(ext)] = ext
    bname = target.encode()
    off = 0x400
    img[off:off + len(bname)] = bname
    struct.pack_into(">QI", img, 8, off, len(bname))
    open(os.path.join(d, name + ".qcow2"), "wb").write(img)
    cases.append((name, "detected"))
backing("backing-missing", "does-not-exist.qcow2")
backing("backing-self", "backing-self.qcow2")
backing("cycle-a", "cycle-b.qcow2")
backing("cycle-b", "cycle-a.qcow2")
backing("backing-json", 'json:{"file":{"driver":"file","filename":"/etc/passwd"}}')
open(os.path.join(d, "garbage.qcow2"), "wb").write(b"QFI\xfb" + os.urandom(4096))
cases.append(("garbage", "refused"))
os.remove(base)
os.remove(comp)
with open(os.path.join(d, "cases.txt"), "w") as f:
    for n, e in cases:
        f.write(f"{n}\t{e}\n")
