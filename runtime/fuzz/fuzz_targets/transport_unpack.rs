//! Fuzz target: arbitrary bytes into every transport decoder, both roles, plain and obfuscated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tlgen_runtime::transport::{accept, framing, Codec, Kind, ProxySecret, Role};

const KINDS: [Kind; 4] = [
    Kind::Abridged,
    Kind::Intermediate,
    Kind::PaddedIntermediate,
    Kind::Full,
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the size of the pieces the bytes arrive in.
    let Some((&piece, rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(piece).max(1);

    for kind in KINDS {
        for role in [Role::Client, Role::Server] {
            // Straight into the framing: every frame it returns lies inside the input.
            let mut decoder = framing(kind, role, 1 << 16, Box::new(|b: &mut [u8]| b.fill(7)));
            let mut at = 0;
            while let Some(unread) = rest.get(at..) {
                match decoder.unpack(unread) {
                    Ok(Some((_, used))) => {
                        assert!(used > 0 && used <= unread.len());
                        at += used;
                    }
                    _ => break,
                }
            }

            // Through a codec, in pieces.
            let mut codec = Codec::new(framing(
                kind,
                role,
                1 << 16,
                Box::new(|b: &mut [u8]| b.fill(7)),
            ));
            for chunk in rest.chunks(piece) {
                codec.push(chunk);
                while let Ok(Some(_)) = codec.next_frame() {}
            }
        }
    }

    // As a server that has to recognize the opening (and maybe an obfuscation header).
    let secret = ProxySecret::from_bytes(&[0x42; 16]).ok();
    for secret in [None, secret.as_ref()] {
        if let Ok(Some((mut server, used))) = accept(rest, secret, |b: &mut [u8]| b.fill(9)) {
            for chunk in rest.get(used..).unwrap_or_default().chunks(piece) {
                server.push(chunk);
                while let Ok(Some(_)) = server.next_frame() {}
            }
        }
    }
});
