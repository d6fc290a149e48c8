"""Kurigram (Pyrogram's maintained fork) against tlgen's loopback server.

Runs the three raw-API examples of Pyrogram's "Advanced Usage" page, in today's spelling
(`app.invoke`, `pyrogram.raw.functions`), with nothing changed but the connection settings:
the server's address and RSA key. `resolve_peer` goes by id, by username and by phone; the
ids resolve from the dialogs and contacts the script reads first, as on Telegram.

Started by `loopback/tests/kurigram.rs`, which passes the server through the environment:
TLGEN_LOOPBACK_HOST, TLGEN_LOOPBACK_PORT, TLGEN_LOOPBACK_FINGERPRINT (signed 64-bit),
TLGEN_LOOPBACK_MODULUS (hex), TLGEN_LOOPBACK_EXPONENT, TLGEN_LOOPBACK_PHONE,
TLGEN_LOOPBACK_CODE, and the peers to resolve: TLGEN_CHANNEL_ID (marked), TLGEN_USER_ID,
TLGEN_USERNAME, TLGEN_PHONE. Prints one line per step; exits non-zero on any failure.
"""

import asyncio
import os
import sys
import tempfile

from pyrogram import Client
from pyrogram.crypto import rsa
from pyrogram.raw import functions, types
from pyrogram.storage.sqlite_storage import SQLiteStorage

env = os.environ
HOST = env["TLGEN_LOOPBACK_HOST"]
PORT = int(env["TLGEN_LOOPBACK_PORT"])

# The connection settings: the loopback server's key beside Telegram's, and its address.
rsa.server_public_keys[int(env["TLGEN_LOOPBACK_FINGERPRINT"])] = rsa.PublicKey(
    int(env["TLGEN_LOOPBACK_MODULUS"], 16), int(env["TLGEN_LOOPBACK_EXPONENT"])
)


class LoopbackStorage(SQLiteStorage):
    """An in-memory session whose server is always the loopback one."""

    async def server_address(self, value=object):
        return await super().server_address(HOST if value is not object else value)

    async def port(self, value=object):
        return await super().port(PORT if value is not object else value)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tlgen-kurigram-") as workdir:
        await run(workdir)


async def run(workdir: str) -> None:
    app = Client(
        "kurigram",
        api_id=12345,
        api_hash="0123456789abcdef0123456789abcdef",
        phone_number=env["TLGEN_LOOPBACK_PHONE"],
        phone_code=env["TLGEN_LOOPBACK_CODE"],
        workdir=workdir,
        storage_engine=LoopbackStorage("kurigram", workdir=workdir, in_memory=True),
        no_updates=True,
    )
    async with app:
        me = await app.get_me()
        print(f"signed in as {me.first_name} (id {me.id})", flush=True)

        # Pyrogram's "Advanced Usage", example 1: update the profile.
        r = await app.invoke(
            functions.account.UpdateProfile(
                first_name="First Name", last_name="Last Name", about="New bio text"
            )
        )
        print(f"account.updateProfile -> {type(r).__name__} {r.first_name} {r.last_name}", flush=True)

        # Example 2: who can see the last-seen time.
        r = await app.invoke(
            functions.account.SetPrivacy(
                key=types.InputPrivacyKeyStatusTimestamp(),
                rules=[types.InputPrivacyValueAllowContacts()],
            )
        )
        print(f"account.setPrivacy -> {type(r).__name__} with {len(r.rules)} rule(s)", flush=True)

        # Example 3: invite users resolved by id, username and phone. An id resolves from the
        # peers the client has met; as Pyrogram's FAQ advises for PEER_ID_INVALID, the dialogs
        # and contacts are read first (Telegram, like the loopback world, refuses access hash 0).
        async for _ in app.get_dialogs():
            pass
        await app.get_contacts()
        channel = await app.resolve_peer(int(env["TLGEN_CHANNEL_ID"]))
        users = [
            await app.resolve_peer(int(env["TLGEN_USER_ID"])),
            await app.resolve_peer(env["TLGEN_USERNAME"]),
            await app.resolve_peer(env["TLGEN_PHONE"]),
        ]
        for u in users:
            print(f"resolved {type(u).__name__} user_id={u.user_id}", flush=True)
        r = await app.invoke(functions.channels.InviteToChannel(channel=channel, users=users))
        print(f"channels.inviteToChannel -> {type(r).__name__}", flush=True)
    print("ok", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(asyncio.wait_for(main(), timeout=60))
    except Exception as e:  # the test shows this line
        print(f"failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        raise
