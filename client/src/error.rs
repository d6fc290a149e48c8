//! What a call can end with besides its result.

use std::fmt;
use std::sync::Arc;

use tlgen_runtime::mtproto::handshake::HandshakeError;
use tlgen_runtime::transport::TransportError;
use tlgen_runtime::DecodeError;

/// An `rpc_error` from the server, split the way Telegram words them: `FLOOD_WAIT_31` is
/// `name: "FLOOD_WAIT"`, `value: Some(31)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The error code (303, 400, 401, 403, 420, 500, or negative).
    pub code: i32,
    /// The message without its trailing number (`FLOOD_WAIT`, `PHONE_MIGRATE`).
    pub name: String,
    /// The number that ended the message, if any (seconds to wait, a DC id).
    pub value: Option<u32>,
}

impl RpcError {
    /// Splits `message` into name and number: the last `_`-separated part is the value when it
    /// is all digits (and fits a `u32`).
    pub fn new(code: i32, message: &str) -> Self {
        if let Some((name, tail)) = message.rsplit_once('_') {
            if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(value) = tail.parse() {
                    return Self {
                        code,
                        name: name.to_owned(),
                        value: Some(value),
                    };
                }
            }
        }
        Self {
            code,
            name: message.to_owned(),
            value: None,
        }
    }

    /// Whether the name is `name` (`FLOOD_WAIT` matches `FLOOD_WAIT_31`).
    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }

    /// Seconds to wait before the same call may succeed: `FLOOD_WAIT_X`, `SLOW_MODE_WAIT_X`,
    /// `FLOOD_PREMIUM_WAIT_X` and any other 420 `*_WAIT_X`.
    pub fn wait_seconds(&self) -> Option<u32> {
        if self.code == 420 && self.name.ends_with("WAIT") {
            self.value
        } else {
            None
        }
    }

    /// The DC a 303 `*_MIGRATE_X` error points to.
    pub fn migrate_dc(&self) -> Option<i32> {
        if self.code == 303 && self.name.ends_with("_MIGRATE") {
            self.value.and_then(|v| i32::try_from(v).ok())
        } else {
            None
        }
    }

    /// A server-side failure worth retrying: a 5xx or a negative code, except the ones that
    /// say the request did run (`RANDOM_ID_DUPLICATE`).
    pub fn is_retryable_server_error(&self) -> bool {
        (self.code >= 500 || self.code < 0) && !self.is("RANDOM_ID_DUPLICATE")
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rpc error {}: {}", self.code, self.name)?;
        if let Some(value) = self.value {
            write!(f, " ({value})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// Why a call did not give its result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum InvocationError {
    /// The server answered with an error (waits above the threshold included: `value` holds
    /// the seconds).
    Rpc(RpcError),
    /// The server says the call belongs to another DC (303 `*_MIGRATE_X`). The layer above
    /// moves its home DC or sends the call through [`Client::dc`](crate::Client::dc).
    Migrate {
        /// The DC to use.
        dc: i32,
        /// The whole error (`PHONE_MIGRATE`, `USER_MIGRATE`, `FILE_MIGRATE`, ...).
        error: RpcError,
    },
    /// The transport failed (a bad frame, or a transport error code from the server) and the
    /// call was never sent.
    Transport(TransportError),
    /// The network failed and the call was never sent.
    Io(Arc<std::io::Error>),
    /// The auth-key exchange failed.
    Handshake(HandshakeError),
    /// The answer did not decode as the call's return type.
    Decode(DecodeError),
    /// No answer within the call's timeout. If the call had been sent, it may have run.
    Timeout,
    /// The client's connection task ended (every handle dropped, or it stopped) before the
    /// call was answered.
    Dropped,
    /// The call was sent, the connection was lost, and the client could not settle it
    /// afterwards (the session was lost, the message was too old to send again under its id,
    /// the server no longer knew it when asked, or no connection came back): **it may have
    /// run** on the server. Sending it again may run it twice.
    MayHaveRun {
        /// Why it could not be settled.
        reason: &'static str,
    },
    /// The server refused the message itself (`bad_msg_notification` with this code) and did
    /// not run it.
    BadMessage {
        /// The notification's error code.
        code: i32,
    },
    /// The session store failed.
    Store(String),
    /// No address is known for this DC (neither in the configuration nor in the store).
    UnknownDc {
        /// The DC id.
        dc: i32,
    },
}

impl InvocationError {
    /// The `rpc_error`, if the server answered with one.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            Self::Rpc(e) | Self::Migrate { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// An `rpc_error` as the client reports it: 303 `*_MIGRATE_X` as [`Self::Migrate`].
    pub(crate) fn from_rpc(error: RpcError) -> Self {
        match error.migrate_dc() {
            Some(dc) => Self::Migrate { dc, error },
            None => Self::Rpc(error),
        }
    }
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rpc(e) => e.fmt(f),
            Self::Migrate { dc, error } => write!(f, "{error}: the call belongs to DC {dc}"),
            Self::Transport(e) => write!(f, "transport error: {e}"),
            Self::Io(e) => write!(f, "network error: {e}"),
            Self::Handshake(e) => write!(f, "auth-key exchange failed: {e}"),
            Self::Decode(e) => write!(f, "cannot decode the answer: {e}"),
            Self::Timeout => f.write_str("no answer in time (if it was sent, it may have run)"),
            Self::Dropped => f.write_str("the client stopped before the call was answered"),
            Self::MayHaveRun { reason } => write!(
                f,
                "the call may have run on the server, but its result is lost ({reason})"
            ),
            Self::BadMessage { code } => {
                write!(
                    f,
                    "the server refused the message (code {code}); it did not run"
                )
            }
            Self::Store(e) => write!(f, "session store: {e}"),
            Self::UnknownDc { dc } => write!(f, "no address is known for DC {dc}"),
        }
    }
}

impl std::error::Error for InvocationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Rpc(e) | Self::Migrate { error: e, .. } => Some(e),
            Self::Transport(e) => Some(e),
            Self::Io(e) => Some(&**e),
            Self::Handshake(e) => Some(e),
            Self::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for InvocationError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(Arc::new(e))
    }
}

impl From<TransportError> for InvocationError {
    fn from(e: TransportError) -> Self {
        Self::Transport(e)
    }
}

impl From<HandshakeError> for InvocationError {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

impl From<tlgen_session::StoreError> for InvocationError {
    fn from(e: tlgen_session::StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_into_name_and_value() {
        let e = RpcError::new(420, "FLOOD_WAIT_31");
        assert_eq!((e.name.as_str(), e.value), ("FLOOD_WAIT", Some(31)));
        assert_eq!(e.wait_seconds(), Some(31));
        let e = RpcError::new(420, "SLOW_MODE_WAIT_5");
        assert_eq!(e.wait_seconds(), Some(5));
        let e = RpcError::new(303, "PHONE_MIGRATE_4");
        assert_eq!(e.migrate_dc(), Some(4));
        assert!(matches!(
            InvocationError::from_rpc(e),
            InvocationError::Migrate { dc: 4, .. }
        ));
        let e = RpcError::new(400, "PEER_ID_INVALID");
        assert_eq!((e.name.as_str(), e.value), ("PEER_ID_INVALID", None));
        let e = RpcError::new(400, "CHAT_2");
        assert_eq!(e.value, Some(2));
        // Not numbers: kept whole.
        for m in ["A_", "_", "", "X_99999999999", "X_1a"] {
            assert_eq!(RpcError::new(400, m).name, m);
        }
        assert!(RpcError::new(500, "INTERNAL").is_retryable_server_error());
        assert!(RpcError::new(-503, "Timeout").is_retryable_server_error());
        assert!(!RpcError::new(500, "RANDOM_ID_DUPLICATE").is_retryable_server_error());
        assert!(!RpcError::new(400, "X").is_retryable_server_error());
    }
}
