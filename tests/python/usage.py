"""Typed use of the package generated from api.tl: mypy --strict checks it, and it runs."""

from typing import TypeVar

from api import LAYER, DecodeError, TLRequest, base, functions, types

R = TypeVar("R")

ANSWER = types.messages.Messages(messages=[], topics=[], chats=[], users=[]).to_bytes()


def send(request: TLRequest[R]) -> R:
    """A stand-in for a client's send(): the result's type comes from the request."""
    return request.read_result(ANSWER)


history_request = functions.messages.GetHistory(
    peer=types.InputPeerSelf(),
    offset_id=0,
    offset_date=0,
    add_offset=0,
    limit=10,
    max_id=0,
    min_id=0,
    hash=0,
)
history: base.messages.Messages = send(history_request)
wrapped: base.messages.Messages = send(functions.InvokeWithLayer(layer=LAYER, query=history_request))
assert history == wrapped == types.messages.Messages(messages=[], topics=[], chats=[], users=[])

peer: base.Peer = types.PeerUser(user_id=1)
match peer:
    case types.PeerUser(user_id=user_id):
        assert user_id == 1
    case types.PeerChat() | types.PeerChannel():
        raise AssertionError(peer)
assert isinstance(peer, base.Peer)

update = functions.account.UpdateProfile(first_name="Dan", about="hi")
assert update.to_bytes() == bytes(
    [0x75, 0x57, 0x51, 0x78, 5, 0, 0, 0, 3, ord("D"), ord("a"), ord("n"), 2, ord("h"), ord("i"), 0]
)
assert functions.account.UpdateProfile.from_bytes(update.to_bytes()) == update

try:
    base.read_input_peer(bytes([1, 2, 3, 4]))
except DecodeError as e:
    assert str(e) == "unknown constructor id 0x04030201 for type InputPeer at byte 0", str(e)
    assert e.offset == 0
else:
    raise AssertionError("decoded")
