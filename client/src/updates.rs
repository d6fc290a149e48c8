//! What the server sends unasked, on a bounded channel that never blocks the connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

/// One item of the updates stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Update {
    /// A body the server sent unasked (TL bytes, already inflated): `updates`,
    /// `updateShort`, ... for the layer above to decode.
    Body(Vec<u8>),
    /// `dropped` updates were thrown away because the channel was full: the layer above must
    /// fetch what it missed (Telegram: `updates.getDifference`).
    Gap {
        /// How many bodies were dropped.
        dropped: u64,
    },
    /// The server started a new session: updates may have been missed before it (Telegram:
    /// call `updates.getDifference`).
    NewSession,
}

/// The receiving end of the updates stream (see [`Client::updates`](crate::Client::updates)).
///
/// The channel is bounded ([`Config::updates_capacity`](crate::Config::updates_capacity)).
/// When it is full, the connection task drops the **new** update, counts it, and as soon as
/// there is room again sends one [`Update::Gap`] with the count before the next body: the
/// connection task never waits for the reader, and the reader learns exactly where the hole
/// is.
#[derive(Debug)]
pub struct Updates {
    rx: mpsc::Receiver<Update>,
}

impl Updates {
    /// The next update; `None` once the client stopped.
    pub async fn recv(&mut self) -> Option<Update> {
        self.rx.recv().await
    }

    /// The next update if one is waiting.
    pub fn try_recv(&mut self) -> Option<Update> {
        self.rx.try_recv().ok()
    }
}

/// The connection task's end.
pub(crate) struct UpdateSender {
    tx: mpsc::Sender<Update>,
    /// Dropped since the last gap marker went out.
    dropped: u64,
    /// Dropped in all (for statistics).
    total_dropped: Arc<AtomicU64>,
}

pub(crate) fn channel(capacity: usize, total_dropped: Arc<AtomicU64>) -> (UpdateSender, Updates) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        UpdateSender {
            tx,
            dropped: 0,
            total_dropped,
        },
        Updates { rx },
    )
}

impl UpdateSender {
    /// Delivers without waiting: the gap marker first if bodies were dropped.
    pub(crate) fn deliver(&mut self, update: Update) {
        if self.dropped > 0 {
            let dropped = self.dropped;
            match self.tx.try_send(Update::Gap { dropped }) {
                Ok(()) => self.dropped = 0,
                Err(mpsc::error::TrySendError::Full(_)) => return self.drop_one(),
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(update) {
            self.drop_one();
        }
    }

    fn drop_one(&mut self) {
        self.dropped += 1;
        self.total_dropped.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_channel_drops_new_updates_and_reports_the_gap() {
        let total = Arc::new(AtomicU64::new(0));
        let (mut tx, mut rx) = channel(2, total.clone());
        for i in 0..5u8 {
            tx.deliver(Update::Body(vec![i]));
        }
        assert_eq!(total.load(Ordering::Relaxed), 3);
        assert_eq!(rx.try_recv(), Some(Update::Body(vec![0])));
        // Room for one: the gap marker takes it, the body is dropped too.
        tx.deliver(Update::Body(vec![5]));
        assert_eq!(rx.try_recv(), Some(Update::Body(vec![1])));
        assert_eq!(rx.try_recv(), Some(Update::Gap { dropped: 3 }));
        assert_eq!(rx.try_recv(), None);
        tx.deliver(Update::Body(vec![6]));
        assert_eq!(rx.try_recv(), Some(Update::Gap { dropped: 1 }));
        assert_eq!(rx.try_recv(), Some(Update::Body(vec![6])));
        assert_eq!(total.load(Ordering::Relaxed), 4);
    }
}
