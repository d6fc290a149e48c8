//! TL values with the runtime's MTProto service types: build them, serialize them, read them
//! back, and see what untrusted bytes get instead of a panic.
//!
//! Run with `cargo run -p tlgen-runtime --features mtproto --example tl_values`.

use tlgen_runtime::mtproto::schema::{enums, functions, types};
use tlgen_runtime::{Deserializable, Identifiable, RemoteCall, Serializable};

/// A ping, the pong that answers it, and an acknowledgement, as bytes.
fn values() -> Vec<(&'static str, Vec<u8>)> {
    let ping = functions::Ping {
        ping_id: 0x0123_4567_89ab_cdef,
    };
    let pong = types::Pong {
        msg_id: 1,
        ping_id: ping.ping_id,
    };
    let ack = types::MsgsAck {
        msg_ids: vec![0x6777_e5ec_0001_0001, 0x6777_e5ec_0001_0005],
    };
    vec![
        ("ping", ping.to_bytes()),
        ("pong", pong.to_bytes()),
        ("msgs_ack", ack.to_bytes()),
    ]
}

/// Reads a ping's answer: the function's `Return` type is the boxed type `Pong`.
fn read_pong(
    bytes: &[u8],
) -> Result<<functions::Ping as RemoteCall>::Return, tlgen_runtime::DecodeError> {
    enums::Pong::from_bytes(bytes)
}

fn main() {
    for (name, bytes) in values() {
        println!("{name:>9}: {}", hex(&bytes));
    }
    let (_, pong) = &values()[1];
    let enums::Pong::Pong(pong) = read_pong(pong).expect("a valid pong");
    println!(
        "read back: {pong:?} (constructor {:#010x})",
        types::Pong::CONSTRUCTOR_ID
    );
    // Cut short: a typed error that says where, never a panic.
    let (_, ack) = &values()[2];
    let err = enums::MsgsAck::from_bytes(&ack[..12]).unwrap_err();
    println!("cut msgs_ack: {err}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_bad_bytes_are_errors() {
        let values = values();
        // ping#7abe77ec ping_id:long = Pong;
        assert_eq!(hex(&values[0].1), "ec77be7aefcdab8967452301");
        let enums::Pong::Pong(pong) = read_pong(&values[1].1).unwrap();
        assert_eq!(pong.ping_id, 0x0123_4567_89ab_cdef);
        let enums::MsgsAck::MsgsAck(ack) = enums::MsgsAck::from_bytes(&values[2].1).unwrap();
        assert_eq!(ack.msg_ids.len(), 2);
        assert!(enums::MsgsAck::from_bytes(&values[2].1[..12]).is_err());
        main();
    }
}
