"""messages.Messages with 100 messages (text and 2 entities each, every 3rd a reply), 10 users
and 1 channel, about 22 KB (the value of benches/peers/benches/messages.rs): serialize and
deserialize with the package tlgen generates from api.tl and with Telethon's generated classes,
the same value built natively in each (their layers differ: 228 and Telethon's own), side by
side in one run.

Run with benches/python/run.sh, which generates the package first.
Usage: messages.py PACKAGE_DIR [ROUNDS]
"""

import statistics
import sys
import time
from typing import Any, Callable

CHANNEL = 1_234_567_890
TEXT = (
    "tlgen serializes this message and grammers does too; the benchmark compares both on one"
    " value. Each text is 132 characters long."
)


def text_of(i: int) -> str:
    return f"{i:03} {TEXT}"


def ours(api: Any) -> Any:
    t = api.types
    peer = t.PeerChannel(channel_id=CHANNEL)
    messages = []
    for i in range(1, 101):
        messages.append(
            t.Message(
                id=i,
                from_id=t.PeerUser(user_id=1000 + i % 10),
                peer_id=peer,
                reply_to=t.MessageReplyHeader(reply_to_msg_id=i - 1) if i % 3 == 0 else None,
                date=1_700_000_000 + i,
                message=text_of(i),
                entities=[
                    t.MessageEntityBold(offset=0, length=3),
                    t.MessageEntityUrl(offset=4, length=5),
                ],
            )
        )
    users = [
        t.User(
            id=1000 + i,
            access_hash=(1000 + i) * 7919,
            first_name=f"User {1000 + i}",
            username=f"user_{1000 + i}",
        )
        for i in range(10)
    ]
    channel = t.Channel(
        id=CHANNEL,
        access_hash=42,
        title="tlgen benchmarks",
        date=1_600_000_000,
        broadcast=True,
        username="tlgen_bench",
        photo=t.ChatPhotoEmpty(),
    )
    return t.messages.Messages(messages=messages, topics=[], chats=[channel], users=users)


def telethon_value() -> Any:
    from telethon.tl import types as t

    peer = t.PeerChannel(channel_id=CHANNEL)
    messages = []
    for i in range(1, 101):
        messages.append(
            t.Message(
                id=i,
                from_id=t.PeerUser(user_id=1000 + i % 10),
                peer_id=peer,
                reply_to=t.MessageReplyHeader(reply_to_msg_id=i - 1) if i % 3 == 0 else None,
                date=1_700_000_000 + i,
                message=text_of(i),
                entities=[
                    t.MessageEntityBold(offset=0, length=3),
                    t.MessageEntityUrl(offset=4, length=5),
                ],
            )
        )
    users = [
        t.User(
            id=1000 + i,
            access_hash=(1000 + i) * 7919,
            first_name=f"User {1000 + i}",
            username=f"user_{1000 + i}",
        )
        for i in range(10)
    ]
    channel = t.Channel(
        id=CHANNEL,
        access_hash=42,
        title="tlgen benchmarks",
        date=1_600_000_000,
        broadcast=True,
        username="tlgen_bench",
        photo=t.ChatPhotoEmpty(),
    )
    return t.messages.Messages(messages=messages, topics=[], chats=[channel], users=users)


def measure(f: Callable[[], Any], rounds: int, inner: int) -> list[float]:
    """Seconds per call, one figure per round of `inner` calls."""
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(inner):
            f()
        out.append((time.perf_counter() - t) / inner)
    return out


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    import api
    from telethon.extensions import BinaryReader
    from telethon.tl.alltlobjects import LAYER as TELETHON_LAYER
    import telethon

    value = ours(api)
    data = value.to_bytes()
    assert api.base.messages.read_messages(data) == value
    peer = telethon_value()
    peer_data = bytes(peer)
    back = BinaryReader(peer_data).tgread_object()
    assert bytes(back) == peer_data
    print(
        f"messages.Messages: tlgen {len(data)} bytes (layer {api.LAYER}), "
        f"Telethon {telethon.__version__} {len(peer_data)} bytes (layer {TELETHON_LAYER}); "
        f"Python {sys.version.split()[0]}"
    )
    read = api.base.messages.read_messages
    cases = [
        ("serialize", "tlgen", lambda: value.to_bytes()),
        ("serialize", "Telethon", lambda: bytes(peer)),
        ("deserialize", "tlgen", lambda: read(data)),
        ("deserialize", "Telethon", lambda: BinaryReader(peer_data).tgread_object()),
    ]
    results: dict[tuple[str, str], list[float]] = {k[:2]: [] for k in cases}
    # Alternating rounds, so that both see the same machine.
    for _ in range(rounds):
        for what, who, f in cases:
            results[(what, who)] += measure(f, 1, 50)
    for what in ("serialize", "deserialize"):
        ours_t = statistics.median(results[(what, "tlgen")])
        peer_t = statistics.median(results[(what, "Telethon")])
        lo_o, hi_o = min(results[(what, "tlgen")]), max(results[(what, "tlgen")])
        lo_p, hi_p = min(results[(what, "Telethon")]), max(results[(what, "Telethon")])
        print(
            f"{what:11}  tlgen {ours_t * 1e6:8.0f} µs (min {lo_o * 1e6:.0f}, max {hi_o * 1e6:.0f})"
            f"  Telethon {peer_t * 1e6:8.0f} µs (min {lo_p * 1e6:.0f}, max {hi_p * 1e6:.0f})"
            f"  ratio {peer_t / ours_t:.2f}x"
        )


main()
