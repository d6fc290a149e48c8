"""Adversarial inputs for the generated Python decoder: the shapes of the Rust runtime's
bounds tests (runtime/tests/decode_alloc.rs, decode_depth.rs and the tl_decode fuzz target),
truncations of valid values and random bytes after valid constructor ids. Decoding must
return a value or raise DecodeError, nothing else; memory (tracemalloc's peak) stays within
64 bytes per input byte, as the Rust runtime's allocation bound does.

Usage: bad_input.py bounds mt [api]   (packages generated from runtime/tests/bounds.tl,
runtime/mtproto.tl and api.tl)
"""

import importlib
import os
import random
import struct
import sys
import time
import tracemalloc
from typing import Any, Callable

VECTOR = 0x1CB5C415
SIZE = 256 * 1024


def w(x: int) -> bytes:
    return struct.pack("<I", x & 0xFFFFFFFF)


def max_count(head: int, total: int) -> int:
    return (total - head - 4) // 4


failures: list[str] = []
decoded = 0
errors = 0


def attempt(what: str, decode: Callable[[], Any], tl: Any, size: int = 0, quiet: bool = True) -> None:
    global decoded, errors
    tracemalloc.start()
    t = time.perf_counter()
    try:
        decode()
        outcome = "decoded"
        decoded += 1
    except tl.DecodeError as e:
        outcome = str(e)
        errors += 1
    except BaseException as e:  # anything else is a failure
        outcome = f"{type(e).__name__}: {e}"
        failures.append(f"{what}: {outcome}")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    elapsed = time.perf_counter() - t
    if size and peak > 64 * size + (1 << 20):
        failures.append(f"{what}: {peak} bytes at peak for {size} bytes of input")
    if not quiet:
        ratio = f", {peak / size:.1f} bytes per input byte" if size else ""
        print(f"{what}: {outcome[:110]} ({elapsed * 1e3:.0f} ms{ratio})")


def bounds_shapes(pkg: Any) -> None:
    tl = pkg._tl
    base, types = pkg.base, pkg.types
    n = SIZE

    # textConcat in textConcat, each count as large as the rest allows.
    out = bytearray()
    while len(out) + 12 <= n // 2:
        out += w(0x7E6260D7) + w(VECTOR)
        out += w(max_count(len(out), n))
    recursive = bytes(out.ljust(n, b"\0"))
    attempt("recursive textConcat", lambda: base.read_rich_text(recursive), tl, n, False)

    # Deeper than the limit: boxed values in boxed vectors, one item each.
    deep = (w(0x7E6260D7) + w(VECTOR) + w(1)) * 70_000 + w(0xDC3D824F)
    attempt("70,000 nested textConcat", lambda: base.read_rich_text(deep), tl, len(deep), False)

    # bigs: a boxed vector announcing the most items the rest allows, half of them there.
    out = bytearray(w(0x14CD40EB) + w(VECTOR))
    out += w(max_count(len(out), n))
    while len(out) + 8 <= n:
        out += w(0xDBD09CDA) + w(0)
    big_boxed = bytes(out.ljust(n, b"\0"))
    attempt("Vector<Big>, boxed items", lambda: base.read_bigs(big_boxed), tl, n, False)

    # bigs: no boxed items, a bare vector of as many `big`s as the rest holds.
    out = bytearray(w(0x14CD40EB) + w(VECTOR) + w(0))
    out += w(max_count(len(out), n))
    big_bare = bytes(out.ljust(n, b"\0"))
    attempt("vector<big>, bare items", lambda: base.read_bigs(big_bare), tl, n, False)

    # grid: Vector<Vector<Vector<long>>>, every level announcing the most it can.
    out = bytearray(w(0x6BD52846))
    for _ in range(3):
        out += w(VECTOR)
        out += w(max_count(len(out), n))
    grid = bytes(out.ljust(n, b"\0"))
    attempt("Vector<Vector<Vector<long>>> field", lambda: base.read_grid(grid), tl, n, False)

    # Vector<Vector<Vector<long>>> of empty vectors, through the generic vector reader.
    out = bytearray(w(VECTOR))
    out += w(max_count(len(out), n))
    while len(out) + 8 <= n:
        out += w(VECTOR) + w(0)
    empty = bytes(out)

    def cube(r: Any, d: int) -> Any:
        return tl.read_vector(
            r, d, True, lambda r, d: tl.read_vector(r, d, True, lambda r, d: tl.read_vector(r, d, True, tl.read_long))
        )

    attempt("Vector<Vector<Vector<long>>> of empty vectors", lambda: tl.decode(empty, cube), tl, n, False)

    # Vectors nested past the limit.
    nested = (w(VECTOR) + w(1)) * 100 + struct.pack("<q", 7)

    def deep_vectors(r: Any, d: int) -> Any:
        read: Any = tl.read_long
        for _ in range(100):
            read = (lambda inner: lambda r, d: tl.read_vector(r, d, True, inner))(read)
        return read(r, d)

    attempt("100 nested vectors", lambda: tl.decode(nested, deep_vectors), tl, len(nested), False)

    # blob whose name announces 16 MiB - 1 bytes.
    long_string = bytes((w(0xE387FB21) + w(0xFFFFFFFE)).ljust(n, b"a"))
    attempt("string with a long length", lambda: base.read_blob(long_string), tl, n, False)

    # blob with as many empty strings as the rest holds.
    out = bytearray(w(0xE387FB21) + w(0) + w(0) + w(VECTOR))
    out += w(max_count(len(out), n))
    many = bytes(out.ljust(n, b"\0"))
    attempt("Vector<string> of empty strings", lambda: base.read_blob(many), tl, n, False)

    # node: children as many as the rest allows, down the first child (bare path).
    out = bytearray()
    while len(out) + 8 <= n // 2:
        out += w(0)
        out += w(max_count(len(out), n))
    nodes = bytes(out.ljust(n, b"\0"))
    attempt("bare node children", lambda: tl.decode(nodes, types.Node._read), tl, n, False)
    levels = bytes([0, 0, 0, 0, 1, 0, 0, 0]) * 100_000 + bytes(8)
    attempt("100,000 levels of bare nodes", lambda: tl.decode(levels, types.Node._read), tl, len(levels), False)

    # chain: a bare constructor in a box, 200,000 levels.
    chain = bytes([1, 0, 0, 0]) * 200_000 + bytes(4)
    attempt("200,000 links of a bare chain", lambda: tl.decode(chain, types.Chain._read), tl, len(chain), False)

    # Shallow values decode; every proper prefix of one is an error.
    value = types.TextConcat(
        texts=[types.TextPlain(text="a" * 300), types.TextConcat(texts=[types.TextEmpty()])]
    ).to_bytes()
    assert base.read_rich_text(value).to_bytes() == value
    for cut in range(len(value)):
        attempt(f"prefix {cut}", lambda: base.read_rich_text(value[:cut]), tl)
    try:
        base.read_rich_text(value[:10])
    except tl.DecodeError as e:
        print(f"a prefix: {e}")
    try:
        base.read_rich_text(value + b"\0")
    except tl.DecodeError as e:
        assert str(e) == f"1 bytes left after the value at byte {len(value)}", str(e)


def random_inputs(pkg: Any, rounds: int) -> None:
    """Random bytes after each constructor id of each type, and bit flips of those."""
    tl = pkg._tl
    rng = random.Random(20261203)
    tables = [t for t in tl._TABLES.values() if t] + [tl.FUNCTIONS]
    for table in sorted(tables, key=lambda t: t.name):
        for cid in sorted(table):
            for _ in range(rounds):
                tail = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 48)))
                if rng.random() < 0.5:
                    # Small words: plausible counts, lengths and flags.
                    tail = b"".join(w(rng.choice([0, 1, 2, 3, 0xFF, VECTOR, 0x997275B5])) for _ in range(rng.randrange(0, 12)))
                data = w(cid) + tail
                attempt(f"{table.name} {cid:#010x} {data.hex()}", lambda: tl.decode(data, table.read), tl)
    data = bytes(rng.getrandbits(8) for _ in range(4096))
    for cut in range(0, 4096, 7):
        attempt(f"any {cut}", lambda: tl.decode(data[cut:], tl.ANY.read), tl)


def main() -> None:
    sys.path.insert(0, os.getcwd())
    t = time.perf_counter()
    for name in sys.argv[1:]:
        pkg = importlib.import_module(name)
        if name == "bounds":
            bounds_shapes(pkg)
        random_inputs(pkg, 3 if name == "api" else 40)
    print(f"{decoded} decoded, {errors} DecodeErrors, {len(failures)} other outcomes "
          f"in {time.perf_counter() - t:.1f} s")
    if failures:
        sys.exit("\n".join(failures[:20]))


main()
