//! Fuzz target: arbitrary bytes decoded as TL of a recursive, vector-heavy schema
//! (`runtime/tests/bounds.tl`) and of the MTProto schema. Decoding must return, never panic or
//! overflow the stack, and ask for memory in proportion to the input: a counting allocator
//! checks that every decode requests at most 64 bytes per input byte (and a fixed allowance
//! for errors and small values).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use tlgen_runtime::mtproto::schema::enums as mt;
use tlgen_runtime::{Bare, DecodeError, Deserializable, Reader};

#[allow(dead_code, unused_imports)]
#[path = "../../tests/bounds/mod.rs"]
#[rustfmt::skip]
mod bounds;

use bounds::{enums, types};

struct Counting;

static REQUESTED: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every method passes its arguments on to `System` unchanged, which keeps the
// `GlobalAlloc` contract; the count on the side touches no memory of the allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        REQUESTED.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        REQUESTED.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REQUESTED.fetch_add(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Decodes `data` with `decode`, checking what it asked the allocator for.
fn bounded<T>(data: &[u8], decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>) {
    let before = REQUESTED.load(Ordering::Relaxed);
    let result = decode(data);
    let requested = REQUESTED.load(Ordering::Relaxed) - before;
    drop(result);
    assert!(
        requested <= 64 * data.len() + 64 * 1024,
        "{requested} bytes requested for {} bytes of input",
        data.len()
    );
}

fn bare<T: Bare>(data: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(data);
    let value = T::deserialize_bare(&mut r)?;
    r.finish()?;
    Ok(value)
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the type, so that the fuzzer can keep to one shape.
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 12 {
        0 => bounded(rest, enums::RichText::from_bytes),
        1 => bounded(rest, enums::Node::from_bytes),
        2 => bounded(rest, bare::<types::Node>),
        3 => bounded(rest, bare::<types::Chain>),
        4 => bounded(rest, enums::Bigs::from_bytes),
        5 => bounded(rest, enums::Grid::from_bytes),
        6 => bounded(rest, enums::Blob::from_bytes),
        7 => bounded(rest, Vec::<Vec<Vec<i64>>>::from_bytes),
        8 => bounded(rest, mt::Object::from_bytes),
        9 => bounded(rest, mt::MsgsAllInfo::from_bytes),
        10 => bounded(rest, mt::FutureSalts::from_bytes),
        _ => bounded(rest, mt::ServerDhParams::from_bytes),
    }
});
