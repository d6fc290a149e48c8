//! Async MTProto client for any tlgen-generated API: connection, sender, retries.
#![warn(missing_docs)]
