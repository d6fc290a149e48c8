//! Fuzz target: arbitrary bytes as plain messages and as handshake answers, to the client and the server.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlgen_runtime::crypto::{RsaPrivateKey, KNOWN_DH_PRIME};
use tlgen_runtime::mtproto::handshake::{parse_plain_message, Client, Server};

/// A well-formed but meaningless RSA key (n = 2^2048 - 1, e = 3, d = 7): the fuzzer only needs
/// a server to reach its decoders, not a working decryption.
fn key() -> Option<RsaPrivateKey> {
    RsaPrivateKey::from_components(&[0xFF; 256], &[3], &[7]).ok()
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_plain_message(data);

    let mut client = Client::new(Vec::new(), 2, |b: &mut [u8]| b.fill(3), || 1_700_000_000);
    let _ = client.start();
    let _ = client.handle(data);

    if let Some(private) = key() {
        if let Ok(mut server) =
            Server::new(private, &KNOWN_DH_PRIME, 3, |b: &mut [u8]| b.fill(5), || 1_700_000_000)
        {
            let _ = server.handle(data);
            let _ = server.handle(data);
        }
    }
});
