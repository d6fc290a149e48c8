//! In-memory transports for tests: a deterministic byte source, and a connected client and server for every framing and obfuscation mode.
#![allow(dead_code)]

use tlgen_runtime::transport::{
    accept, framing, Codec, Frame, Framing, Kind, ProxySecret, RandomFill, Role,
};

pub type AnyCodec = Codec<Box<dyn Framing + Send>>;

pub const KINDS: [Kind; 4] = [
    Kind::Abridged,
    Kind::Intermediate,
    Kind::PaddedIntermediate,
    Kind::Full,
];

/// A deterministic byte source (xorshift), different per seed.
pub fn rng(seed: u64) -> impl FnMut(&mut [u8]) + Send + 'static {
    let mut state = seed | 1;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = (state >> 24) as u8;
        }
    }
}

pub fn boxed_rng(seed: u64) -> RandomFill {
    Box::new(rng(seed))
}

pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    // First byte small so no payload looks like a negative transport error code.
    (0..len)
        .map(|i| {
            if i == 3 {
                0
            } else {
                (i as u8).wrapping_mul(31) ^ seed
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Plain,
    Obfuscated,
    Proxy,
}

/// A connected client and server: the server found the framing from the client's opening.
pub fn connect(kind: Kind, mode: Mode, wire: &mut Vec<u8>) -> (AnyCodec, AnyCodec) {
    let client_framing = framing(kind, Role::Client, 1 << 20, boxed_rng(7));
    let secret = match kind {
        Kind::PaddedIntermediate => {
            let mut s = vec![0xdd];
            s.extend_from_slice(&[0x5c; 16]);
            ProxySecret::from_bytes(&s).unwrap()
        }
        _ => ProxySecret::from_bytes(&[0x5c; 16]).unwrap(),
    };
    let client = match mode {
        Mode::Plain => Codec::client(client_framing, wire),
        Mode::Obfuscated => {
            Codec::obfuscated_client(client_framing, Some(2), None, &mut rng(11), wire).unwrap()
        }
        Mode::Proxy => {
            Codec::obfuscated_client(client_framing, Some(-4), Some(&secret), &mut rng(13), wire)
                .unwrap()
        }
    };
    // A first packet, so that the full framing (which has no marker) can be recognized.
    let mut client = client;
    let hello = payload(24, 0xaa);
    client.send(&hello, false, wire).unwrap();
    let server_secret = matches!(mode, Mode::Proxy).then_some(&secret);
    let (mut server, used) = accept(wire, server_secret, rng(17)).unwrap().unwrap();
    assert_eq!(server.framing().kind(), kind, "{mode:?}");
    assert_eq!(server.is_obfuscated(), !matches!(mode, Mode::Plain));
    server.push(&wire[used..]);
    wire.clear();
    let frames = drain(&mut server);
    assert_eq!(frames.len(), 1, "{kind:?} {mode:?}");
    assert_payload(kind, &frames[0], &hello, false);
    (client, server)
}

pub fn modes(kind: Kind) -> &'static [Mode] {
    match kind {
        Kind::Full => &[Mode::Plain],
        _ => &[Mode::Plain, Mode::Obfuscated, Mode::Proxy],
    }
}

pub fn drain(codec: &mut AnyCodec) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(frame) = codec.next_frame().unwrap() {
        frames.push(frame);
    }
    frames
}

/// Checks a received payload: exact, or (padded intermediate) followed by at most 15 bytes.
pub fn assert_payload(kind: Kind, frame: &Frame, sent: &[u8], quick_ack: bool) {
    let Frame::Payload {
        data,
        quick_ack: ack,
    } = frame
    else {
        panic!("{kind:?}: expected a payload, got {frame:?}");
    };
    assert_eq!(*ack, quick_ack, "{kind:?}");
    if kind == Kind::PaddedIntermediate {
        assert!(data.len() >= sent.len() && data.len() <= sent.len() + 15);
        assert_eq!(&data[..sent.len()], sent, "{kind:?}");
    } else {
        assert_eq!(data, sent, "{kind:?}");
    }
}
