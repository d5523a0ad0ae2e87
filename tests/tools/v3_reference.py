#!/usr/bin/python3
"""Independent reference of the v3 token layout (docs/design.md), written from the spec in Python.

Builds a small synthetic store and codec with the rhotrain binary, then checks `rhotrain tokenize --id`
against this implementation for many (material, origin) pairs, reading the store and codec with h5py.
Exit code 0 when every token matches; prints the first difference otherwise.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

PAD, BOS, EOS, ATOMS_START, ATOMS_END, POS_START, POS_END = 0, 1, 2, 3, 4, 5, 6
GRID_START, GRID_END, DENS_START, DENS_END, LATTICE_START, LATTICE_END = 7, 8, 15, 16, 18, 19
INT_OFFSET, POS_OFFSETS, DENS_OFFSET = 138, (1162, 1674, 1930), 2186


def position_tokens(c):
    sign = 256 if c < 0 else 0
    a = abs(c)
    b = 0 if a < 1e-15 else int(((min(max(math.log10(a), -4.0), 0.0) + 4.0) / 4.0) * (2**24 - 1))
    return [POS_OFFSETS[0] + (b >> 16) + sign, POS_OFFSETS[1] + ((b >> 8) & 255), POS_OFFSETS[2] + (b & 255)]


def reference_tokens(store, codec, mid, origin, p):
    g = store["materials"][mid]
    rho = g["density"][()]
    lat = g["lattice"][()]
    numbers = g["numbers"][()]
    frac = g["frac_coords"][()]
    n = rho.shape
    lengths = [math.sqrt(float(np.dot(v, v))) for v in lat]

    def angle(u, v):
        return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(u, v)) / (math.sqrt(float(np.dot(u, u))) * math.sqrt(float(np.dot(v, v))))))))

    angles = [angle(lat[1], lat[2]), angle(lat[0], lat[2]), angle(lat[0], lat[1])]
    t = [BOS, GRID_START] + [INT_OFFSET + int(x) for x in n] + [GRID_END, LATTICE_START]
    t += [INT_OFFSET + int(round(x / 0.05)) for x in lengths] + [INT_OFFSET + int(round(x / 0.2)) for x in angles]
    t += [LATTICE_END, ATOMS_START] + [20 + int(z) - 1 for z in numbers] + [ATOMS_END, POS_START]
    for f in frac:
        for d in range(3):
            c = float(f[d]) - origin[d] / n[d]
            c -= math.floor(c)
            if c >= 1.0:
                c = 0.0
            t += position_tokens(c)
    t += [POS_END, DENS_START]
    idx = [np.arange(origin[d], origin[d] + p) % n[d] for d in range(3)]
    patch = rho[np.ix_(*idx)].astype(np.float64).ravel()  # C order over (a, b, c) offsets
    bins = np.searchsorted(codec["boundaries"][()], np.clip(patch, 0.0, codec.attrs["clip_max"]), side="right")
    t += [DENS_OFFSET + int(b) for b in bins] + [DENS_END, EOS]
    return t, len(numbers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rhotrain", required=True)
    ap.add_argument("--cases", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store_path, codec_path = os.path.join(tmp, "s.h5"), os.path.join(tmp, "c.h5")
        subprocess.run([args.rhotrain, "synth", "--out", store_path, "--n-train", "30", "--n-val", "5", "--seed", "9"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([args.rhotrain, "fit-codec", "--store", store_path, "--bins", "512", "-o", codec_path],
                       check=True, stdout=subprocess.DEVNULL)
        rng = np.random.default_rng(0)
        with h5py.File(store_path, "r") as store, h5py.File(codec_path, "r") as codec:
            ids = sorted(store["materials"].keys())
            for case in range(args.cases):
                mid = ids[case % len(ids)]
                n = store["materials"][mid]["density"].shape
                p = [3, 6, 19][case % 3]
                origin = [int(rng.integers(0, n[d])) for d in range(3)]
                out = subprocess.run([args.rhotrain, "tokenize", "--store", store_path, "--codec", codec_path, "--id", mid,
                                      "--origin", ",".join(map(str, origin)), "--patch", str(p)],
                                     check=True, capture_output=True, text=True).stdout
                got = json.loads(out)
                want, n_atoms = reference_tokens(store, codec, mid, origin, p)
                if got["dens_start"] != 10 * n_atoms + 18 or got["n_atoms"] != n_atoms:
                    print(f"{mid} origin {origin} P={p}: dens_start {got['dens_start']} / n_atoms {got['n_atoms']} wrong")
                    return 1
                if got["tokens"] != want:
                    i = next(i for i, (a, b) in enumerate(zip(got["tokens"] + [None], want + [None])) if a != b)
                    print(f"{mid} origin {origin} P={p}: first difference at token {i}: "
                          f"rhotrain {got['tokens'][i:i + 3]} reference {want[i:i + 3]}")
                    return 1
    print(f"{args.cases} sequences match the Python reference of the v3 layout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
