//! What the server sends unasked, on a bounded channel that never blocks the connection.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
/// The channel is bounded in count ([`Config::updates_capacity`](crate::Config::updates_capacity))
/// and in the bytes of the bodies waiting in it
/// ([`Config::updates_max_bytes`](crate::Config::updates_max_bytes)). When either bound
/// would be passed, the connection task drops the **new** update, counts it, and as soon as
/// there is room again sends one [`Update::Gap`] with the count before the next body: the
/// connection task never waits for the reader, the reader learns exactly where the hole is,
/// and a server sending large updates to a client that does not read them costs at most the
/// byte bound.
#[derive(Debug)]
pub struct Updates {
    rx: mpsc::Receiver<Update>,
    /// Bytes of the bodies in the channel (shared with the sender).
    queued: Arc<AtomicUsize>,
}

impl Updates {
    /// The next update; `None` once the client stopped.
    pub async fn recv(&mut self) -> Option<Update> {
        let update = self.rx.recv().await;
        self.taken(update)
    }

    /// The next update if one is waiting.
    pub fn try_recv(&mut self) -> Option<Update> {
        let update = self.rx.try_recv().ok();
        self.taken(update)
    }

    fn taken(&self, update: Option<Update>) -> Option<Update> {
        if let Some(Update::Body(body)) = &update {
            self.queued.fetch_sub(body.len(), Ordering::Relaxed);
        }
        update
    }
}

/// The connection task's end.
pub(crate) struct UpdateSender {
    tx: mpsc::Sender<Update>,
    /// Dropped since the last gap marker went out.
    dropped: u64,
    /// Dropped in all (for statistics).
    total_dropped: Arc<AtomicU64>,
    /// Bytes of the bodies in the channel, and their bound.
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
}

pub(crate) fn channel(
    capacity: usize,
    max_bytes: usize,
    total_dropped: Arc<AtomicU64>,
) -> (UpdateSender, Updates) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let queued = Arc::new(AtomicUsize::new(0));
    (
        UpdateSender {
            tx,
            dropped: 0,
            total_dropped,
            queued: queued.clone(),
            max_bytes,
        },
        Updates { rx, queued },
    )
}

impl UpdateSender {
    /// Delivers without waiting: the gap marker first if bodies were dropped. An update that
    /// does not fit is dropped and counted; the marker waits until one fits, so that a run
    /// of dropped bodies gives one marker.
    pub(crate) fn deliver(&mut self, update: Update) {
        let size = match &update {
            Update::Body(body) => body.len(),
            _ => 0,
        };
        // Counted before it is sent, so that the reader never subtracts more than was added.
        let before = self.queued.fetch_add(size, Ordering::Relaxed);
        if size > 0 && before.saturating_add(size) > self.max_bytes {
            self.queued.fetch_sub(size, Ordering::Relaxed);
            return self.drop_one();
        }
        if self.dropped > 0 {
            let dropped = self.dropped;
            match self.tx.try_send(Update::Gap { dropped }) {
                Ok(()) => self.dropped = 0,
                Err(e) => {
                    self.queued.fetch_sub(size, Ordering::Relaxed);
                    if let mpsc::error::TrySendError::Full(_) = e {
                        self.drop_one();
                    }
                    return;
                }
            }
        }
        if let Err(e) = self.tx.try_send(update) {
            self.queued.fetch_sub(size, Ordering::Relaxed);
            if let mpsc::error::TrySendError::Full(_) = e {
                self.drop_one();
            }
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
        let (mut tx, mut rx) = channel(2, usize::MAX, total.clone());
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

    #[test]
    fn bodies_past_the_byte_bound_are_dropped_and_reported_as_a_gap() {
        let total = Arc::new(AtomicU64::new(0));
        let (mut tx, mut rx) = channel(100, 10, total.clone());
        for i in 0..4u8 {
            tx.deliver(Update::Body(vec![i; 4]));
        }
        // 4 + 4 fit in 10 bytes; the third and fourth would pass it.
        assert_eq!(total.load(Ordering::Relaxed), 2);
        // A body larger than the bound never fits.
        tx.deliver(Update::Body(vec![9; 11]));
        assert_eq!(total.load(Ordering::Relaxed), 3);
        assert_eq!(rx.try_recv(), Some(Update::Body(vec![0; 4])));
        // 4 bytes queued: a 6-byte body fits, behind one marker for the three dropped.
        tx.deliver(Update::Body(vec![5; 6]));
        assert_eq!(rx.try_recv(), Some(Update::Body(vec![1; 4])));
        assert_eq!(rx.try_recv(), Some(Update::Gap { dropped: 3 }));
        assert_eq!(rx.try_recv(), Some(Update::Body(vec![5; 6])));
        assert_eq!(rx.try_recv(), None);
        assert_eq!(rx.queued.load(Ordering::Relaxed), 0);
    }
}
