"""Reads every value of a corpus written by the Rust bindings, checks that it writes the same
bytes again, and writes values built from them (every number, string, flag and list changed)
for the Rust bindings to read back.

Usage: check_corpus.py PACKAGE CORPUS REVERSE
"""

import importlib
import os
import sys
from typing import Any


def main() -> None:
    sys.path.insert(0, os.getcwd())
    package, corpus, reverse = sys.argv[1:4]
    pkg = importlib.import_module(package)
    tl = pkg._tl

    def changed(x: Any) -> Any:
        if isinstance(x, bool):
            return not x
        if isinstance(x, int):
            return x ^ 1
        if isinstance(x, float):
            return -x
        if isinstance(x, str):
            return x + "é"
        if isinstance(x, bytes):
            return x + b"\x01"
        if isinstance(x, list):
            return [changed(i) for i in x[:-1]]
        if isinstance(x, tl.TLObject):
            cls = type(x)
            return cls(**{s: changed(getattr(x, s)) for s in cls.__slots__})
        assert x is None, repr(x)
        return None

    out = []
    count = 0
    with open(corpus) as f:
        for line in f:
            key, name, data = line.rstrip("\n").split("\t")
            data = bytes.fromhex(data)
            table = tl.FUNCTIONS if key.startswith("fn ") else tl.table(key)
            try:
                value = tl.decode(data, table.read)
            except tl.DecodeError as e:
                sys.exit(f"cannot read {name}: {e}\n{data.hex()}")
            assert value.TL_NAME == name, (value.TL_NAME, name)
            again = value.to_bytes()
            if again != data:
                at = next(i for i in range(min(len(again), len(data))) if again[i] != data[i])
                sys.exit(f"{name} written otherwise, from byte {at}:\n{data.hex()}\n{again.hex()}")
            other = changed(value)
            written = other.to_bytes()
            assert tl.decode(written, table.read) == other, name
            out.append(f"{key}\t{name}\t{written.hex()}\n")
            count += 1
    with open(reverse, "w") as f:
        f.writelines(out)
    print(f"python read and wrote {count} values")


main()
