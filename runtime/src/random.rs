//! Random bytes from the operating system, fetched a block at a time.
//!
//! The sans-IO code of this crate takes its randomness from the caller; [`fill`] is what the
//! client and the loopback server give it. Each encrypted message asks for four pieces (the
//! length and the bytes of its padding, 12 to 252 bytes, and the same again for a padded
//! transport): four `getrandom` system calls a message on each side when asked for one by one.
//! [`fill`] serves requests of up to [`POOLED_MAX`] bytes from a per-thread block of [`BLOCK`]
//! bytes taken from the OS in one call (about 30 messages' worth), and larger ones straight
//! from the OS.
//!
//! Every byte comes from the OS and is handed out once: a byte is wiped from the block as it
//! is handed out, so the block holds only bytes not used yet. The block is per thread and is
//! not reseeded after `fork`: a process that forks must not use it on both sides of the fork
//! (a tokio process cannot do that anyway).
//!
//! ```
//! let mut a = [0u8; 16];
//! let mut b = [0u8; 16];
//! tlgen_runtime::random::fill(&mut a);
//! tlgen_runtime::random::fill(&mut b);
//! assert_ne!(a, b);
//! ```

use std::cell::RefCell;

/// Bytes fetched from the OS at a time for small requests.
pub const BLOCK: usize = 4096;
/// The largest request served from the block; larger ones go to the OS directly.
pub const POOLED_MAX: usize = 256;

struct Pool {
    bytes: [u8; BLOCK],
    /// Bytes of `bytes` handed out (and wiped) so far.
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; BLOCK], used: BLOCK }) };
}

/// Fills `buf` with random bytes from the operating system.
///
/// # Panics
///
/// When the OS random source fails, which leaves no safe way to run the protocol.
pub fn fill(buf: &mut [u8]) {
    if buf.len() > POOLED_MAX {
        return os_fill(buf);
    }
    // Outside the thread's lifetime (a destructor running after the pool's) or if the pool is
    // somehow borrowed already: straight from the OS.
    let pooled = POOL.try_with(|pool| match pool.try_borrow_mut() {
        Ok(mut pool) => {
            pool.take(buf);
            true
        }
        Err(_) => false,
    });
    if pooled != Ok(true) {
        os_fill(buf);
    }
}

impl Pool {
    fn take(&mut self, mut out: &mut [u8]) {
        while !out.is_empty() {
            if self.used == BLOCK {
                os_fill(&mut self.bytes);
                self.used = 0;
            }
            let n = out.len().min(BLOCK - self.used);
            let served = &mut self.bytes[self.used..self.used + n];
            out[..n].copy_from_slice(served);
            served.fill(0);
            self.used += n;
            out = &mut out[n..];
        }
    }
}

fn os_fill(buf: &mut [u8]) {
    getrandom::getrandom(buf).expect("the operating system's random source failed");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Small requests across many blocks never repeat a piece: 20,000 requests of 8 bytes
    /// (42 blocks, requests straddling their ends included) give 20,000 distinct values.
    #[test]
    fn small_requests_never_repeat() {
        let mut seen = BTreeSet::new();
        for i in 0..20_000 {
            // 8 bytes, after an odd-sized request now and then so that pieces straddle blocks.
            if i % 7 == 0 {
                fill(&mut [0; 3]);
            }
            let mut piece = [0u8; 8];
            fill(&mut piece);
            assert!(seen.insert(piece), "a piece of random bytes came twice");
        }
    }

    /// A request larger than the block's rest is served from the rest and a new block.
    #[test]
    fn requests_straddle_blocks() {
        let mut pool = Pool {
            bytes: [7; BLOCK],
            used: BLOCK - 3,
        };
        let mut out = [0u8; 10];
        pool.take(&mut out);
        assert_eq!(out[..3], [7; 3]);
        assert_eq!(pool.used, 7);
        // What was handed out is wiped: the block holds unused bytes only.
        assert!(pool.bytes[..7].iter().all(|&b| b == 0));
    }

    /// Large requests and the empty one.
    #[test]
    fn large_and_empty_requests() {
        let mut a = [0u8; POOLED_MAX + 1];
        let mut b = [0u8; POOLED_MAX + 1];
        fill(&mut a);
        fill(&mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0; POOLED_MAX + 1]);
        fill(&mut []);
    }

    /// Threads each have their own block: none sees another's bytes.
    #[test]
    fn threads_do_not_share_bytes() {
        let pieces: Vec<[u8; 16]> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let mut piece = [0u8; 16];
                    fill(&mut piece);
                    piece
                })
            })
            .map(|t| t.join().unwrap())
            .collect();
        let distinct: BTreeSet<_> = pieces.iter().collect();
        assert_eq!(distinct.len(), pieces.len());
    }
}
