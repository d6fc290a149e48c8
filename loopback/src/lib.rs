//! A loopback MTProto server with a small in-memory Telegram.
#![warn(missing_docs)]

pub use tlgen_world as world;
