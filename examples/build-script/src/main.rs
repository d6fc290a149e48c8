//! Uses the bindings that build.rs generated from `schema.tl`: builds a message, serializes it
//! with tlgen-runtime, and reads it back.
//!
//! Run with `cargo run -p tlgen-example-build-script`.

include!(concat!(env!("OUT_DIR"), "/tl.rs"));

use tl::{enums, functions, types};
use tlgen_runtime::{Deserializable, Identifiable, Serializable};

/// A message as it travels: its constructor id, then its fields.
fn message_bytes() -> Vec<u8> {
    let message = types::Message {
        id: 7,
        // `.into()` wraps a constructor in its enum, boxed or not.
        peer: types::InputPeerUser {
            user_id: 42,
            access_hash: -1,
        }
        .into(),
        text: "hello".to_string(),
        silent: true,
        reply_to: None,
    };
    enums::Message::from(message).to_bytes()
}

fn main() {
    let bytes = message_bytes();
    println!("message: {} bytes, {:02x?}", bytes.len(), &bytes[..4]);
    let enums::Message::Message(back) = enums::Message::from_bytes(&bytes).expect("valid bytes");
    println!("read back: {back:?}");
    let call = functions::messages::GetMessage {
        peer: enums::InputPeer::Empty,
        id: back.id,
    };
    println!(
        "messages.getMessage#{:08x}: {:02x?}",
        functions::messages::GetMessage::CONSTRUCTOR_ID,
        call.to_bytes()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_round_trips() {
        let bytes = message_bytes();
        assert_eq!(bytes[..4], types::Message::CONSTRUCTOR_ID.to_le_bytes());
        let enums::Message::Message(back) = enums::Message::from_bytes(&bytes).unwrap();
        assert_eq!(back.text, "hello");
        assert!(back.silent);
        assert_eq!(back.reply_to, None);
        main();
    }
}
