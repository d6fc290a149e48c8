//! Opening a connection: TCP, the transport's opening bytes, and the auth-key exchange when
//! no key is known.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, info};

use tlgen_runtime::crypto::RsaPublicKey;
use tlgen_runtime::mtproto::handshake::{self, AuthKey, ClientStep};
use tlgen_runtime::transport::{self, Codec, DynCodec, Role, DEFAULT_MAX_FRAME_LEN};

use crate::config::Transport;
use crate::error::InvocationError;

/// Most round trips of one key exchange (three, and a few `dh_gen_retry`).
const MAX_HANDSHAKE_STEPS: usize = 8;
/// Bytes read from the socket at a time.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// Fills `buf` from the OS's random source (fetched in blocks: [`tlgen_runtime::random`]).
pub(crate) fn random_fill(buf: &mut [u8]) {
    // Not fed by any peer: a failing OS random source leaves nothing safe to do (it panics).
    tlgen_runtime::random::fill(buf);
}

/// The local clock since the Unix epoch.
pub(crate) fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// An open TCP connection with its codec; `out` holds bytes not written yet (the transport's
/// opening bytes at first).
pub(crate) struct Link {
    pub stream: TcpStream,
    pub codec: DynCodec,
    pub out: Vec<u8>,
}

/// Opens TCP to `addr` and prepares the transport.
pub(crate) async fn open(
    addr: &str,
    transport: Transport,
    dc_id: i32,
) -> Result<Link, InvocationError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let framing = transport::framing(
        transport.kind,
        Role::Client,
        DEFAULT_MAX_FRAME_LEN,
        Box::new(random_fill),
    );
    let mut out = Vec::new();
    let codec = if transport.obfuscated {
        let dc = i16::try_from(dc_id).ok();
        Codec::obfuscated_client(framing, dc, None, &mut random_fill, &mut out)?
    } else {
        Codec::client(framing, &mut out)
    };
    debug!(
        addr,
        kind = transport.kind.name(),
        obfuscated = transport.obfuscated,
        "tcp connected"
    );
    Ok(Link { stream, codec, out })
}

/// The next payload from the link, reading as needed.
async fn read_payload(link: &mut Link, buf: &mut [u8]) -> Result<Vec<u8>, InvocationError> {
    loop {
        if let Some(payload) = link.codec.next_payload()? {
            return Ok(payload);
        }
        let n = link.stream.read(buf).await?;
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        link.codec.push(&buf[..n]);
    }
}

/// A plain message id: the local time (corrected by nothing yet), a multiple of 4, above `last`.
fn plain_msg_id(last: &mut i64) -> i64 {
    let now = unix_now();
    let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let fraction = (u64::from(now.subsec_nanos()) << 32) / 1_000_000_000;
    let id = ((secs << 32) | fraction as i64) & !3;
    *last = id.max(*last + 4);
    *last
}

/// Runs the auth-key exchange over `link` (plain messages).
pub(crate) async fn exchange_key(
    link: &mut Link,
    keys: &[RsaPublicKey],
    dc_id: i32,
) -> Result<AuthKey, InvocationError> {
    let clock = || i64::try_from(unix_now().as_secs()).unwrap_or(i64::MAX);
    let mut client = handshake::Client::new(keys.to_vec(), dc_id, random_fill, clock);
    let mut body = client.start();
    let mut last_id = 0;
    let mut buf = vec![0; 4096];
    for _ in 0..MAX_HANDSHAKE_STEPS {
        let message = handshake::plain_message(plain_msg_id(&mut last_id), &body);
        link.codec.send(&message, false, &mut link.out)?;
        link.stream.write_all(&link.out).await?;
        link.out.clear();
        // The client's next power runs while the server computes its own.
        client.precompute();
        let payload = read_payload(link, &mut buf).await?;
        let (_, answer) = handshake::parse_plain_message(&payload)?;
        match client.handle(answer)? {
            ClientStep::Send(next) => body = next,
            ClientStep::Done(key) => {
                info!(
                    dc = dc_id,
                    key_id = format_args!("{:#018x}", key.id as u64),
                    "auth key created"
                );
                return Ok(*key);
            }
        }
    }
    Err(handshake::HandshakeError::Finished.into())
}
