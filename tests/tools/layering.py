#!/usr/bin/python3
"""The layering of rhotrain's source folders, enforced: every `#include "folder/..."` in a source folder must
point to a folder that folder may use. Prints each offending file and line and exits 1 when one does not.

  python3 tests/tools/layering.py [--root REPO]    check the repository (ctest runs this)
  python3 tests/tools/layering.py --self-test      plant bad includes in a scratch tree and check they are caught
"""
import argparse
import pathlib
import re
import sys
import tempfile

# What each folder may include besides itself. The model reads the v3 layout and nothing else of the sampler.
ALLOWED = {
    "common": set(),
    "materials": {"common"},
    "metrics": {"common"},
    "pictures": {"materials", "common"},
    "sampler": {"materials", "common"},
    "models": {"common", "sampler/v3_layout.h"},
    "trainer": {"models", "sampler", "metrics", "materials", "common"},
    "study": {"pictures", "trainer", "models", "sampler", "metrics", "materials", "common"},
    "fuzz": {"trainer", "materials", "common"},
    "cli": {"pictures", "study", "trainer", "models", "sampler", "metrics", "materials", "common"},
}
SOURCES = (".h", ".cpp")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def allowed(folder, target):
    top = target.split("/", 1)[0]
    return top == folder or top in ALLOWED[folder] or target in ALLOWED[folder]


def violations(root):
    found = []
    for folder in ALLOWED:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in SOURCES:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                m = INCLUDE.match(line)
                if m and not allowed(folder, m.group(1)):
                    may = ", ".join(sorted(ALLOWED[folder])) or "nothing of ours"
                    found.append(f'{path.relative_to(root)}:{number}: includes "{m.group(1)}"; {folder} may include {may}')
    return found


def self_test():
    planted = {
        "metrics/bad.cpp": '#include "metrics/nmae.h"\n#include "trainer/train.h"\n',
        "models/bad.cpp": '#include "sampler/v3_layout.h"\n#include "sampler/v3_tokenizer.h"\n',
        "common/bad.h": '#pragma once\n#include "materials/store.h"\n',
        "sampler/fine.cpp": '#include "materials/store.h"\n#include "common/error.h"\n',
        "cli/fine.cpp": '#include "study/experiment.h"\n',
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for name, text in planted.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        got = [v.split(": includes")[0] for v in violations(root)]
    want = ["common/bad.h:2", "metrics/bad.cpp:2", "models/bad.cpp:2"]
    if sorted(got) != want:
        print(f"layering self-test: expected {want}, got {got}")
        return 1
    print("layering self-test: the planted bad includes are caught, the allowed ones pass")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=pathlib.Path(__file__).resolve().parent.parent, type=pathlib.Path)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    found = violations(args.root)
    for v in found:
        print(v)
    if found:
        return 1
    print(f"layering: every include of {', '.join(ALLOWED)} points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
