#!/usr/bin/python3
"""Reads a CHGCAR with ASE and with pymatgen (Debian's python3-ase, python3-pymatgen) and prints what each sees as one
JSON object: the grid, the atom count and species, and the total charge ∫ρ dV. The tests compare it with rhotrain's.

  python3 tests/tools/read_density.py FILE.CHGCAR
"""
import json
import sys

import numpy as np
from ase.calculators.vasp import VaspChargeDensity
from pymatgen.io.vasp.outputs import Chgcar


def main(path):
    ase_file = VaspChargeDensity(path)
    rho = ase_file.chg[0]  # e/Å³ (ASE divides ρ·V by the volume)
    atoms = ase_file.atoms[0]
    ase_charge = float(rho.sum() * atoms.get_volume() / rho.size)

    chgcar = Chgcar.from_file(path)
    total = chgcar.data["total"]  # ρ·V, as the file holds it
    structure = chgcar.structure
    print(json.dumps({
        "ase": {"grid": list(rho.shape), "atoms": len(atoms), "symbols": atoms.get_chemical_symbols(), "charge": ase_charge},
        "pymatgen": {"grid": list(total.shape), "atoms": len(structure),
                     "symbols": [s.symbol for s in structure.species], "charge": float(np.mean(total))},
    }))


if __name__ == "__main__":
    main(sys.argv[1])
