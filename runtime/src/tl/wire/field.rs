//! The field codec traits and the state a constructor's fields share while it is read or
//! written (its flags words).

use std::fmt;

use super::{DecodeError, Reader};

/// How many `#` flags words one constructor may have (`flags`, `flags2`, ...).
pub const MAX_FLAG_WORDS: usize = 4;

/// State while reading one constructor: its flags words, as they are read.
///
/// Field codecs learn their place among the constructor's fields as an argument (a constant
/// once inlined) and note it in an error leaving them; the constructor adds its name and the
/// field's ([`Bare::deserialize_bare`](super::Bare::deserialize_bare)). A counter of the next field, kept here, cost a store
/// per field read.
#[derive(Debug, Default)]
pub struct Cursor {
    pub(super) words: [u32; MAX_FLAG_WORDS],
}

impl Cursor {
    #[inline]
    pub(super) fn is_set(&self, word: u32, bit: u32) -> bool {
        (self.words.get(word as usize)).is_some_and(|w| w & (1 << bit) != 0)
    }
}

/// The flags words of one constructor while it is written: their bits so far and where each
/// placeholder was written.
#[derive(Debug, Default)]
pub struct Flagged {
    pub(super) words: [u32; MAX_FLAG_WORDS],
    /// Offset in the output of each flags word written (meaningful where `written` has its bit).
    pub(super) at: [usize; MAX_FLAG_WORDS],
    pub(super) written: u32,
}

impl Flagged {
    #[inline]
    pub(super) fn set(&mut self, word: u32, bit: u32) {
        if let Some(w) = self.words.get_mut(word as usize) {
            *w |= 1 << bit;
        }
    }

    /// Fills in the placeholders with the words' final values.
    #[inline]
    pub(super) fn patch(&self, out: &mut [u8]) {
        if self.written == 0 {
            return;
        }
        for (w, (&word, &at)) in self.words.iter().zip(&self.at).enumerate() {
            if self.written & (1 << w) != 0 {
                // The placeholder's 4 bytes were written at `at` and `out` only grew since.
                if let Some(slot) = out.get_mut(at..at + 4) {
                    slot.copy_from_slice(&word.to_le_bytes());
                }
            }
        }
    }
}

/// The wire codec of one field (or of a tuple of fields).
pub trait Field {
    /// The stored value.
    type Value;
    /// A cheap view of the stored value, for writing.
    type Ref<'a>: Copy
    where
        Self: 'a;
    /// How many of the constructor's fields the codec spans (a tuple: all of its members').
    const WIDTH: usize = 1;
    /// Reads the field, number `at` among its constructor's fields (a tuple: its first
    /// member's number); an error leaving it notes `at`.
    fn read(r: &mut Reader<'_>, cx: &mut Cursor, at: usize) -> Result<Self::Value, DecodeError>;
    /// Writes the field, setting the flags bits its value stands for.
    fn write(v: Self::Ref<'_>, flags: &mut Flagged, out: &mut Vec<u8>);
    /// The view of a stored value.
    fn refs(v: &Self::Value) -> Self::Ref<'_>;
}

/// Default values of a field's codec, where its stored value has one: what the
/// `impl_std_traits!(T + Default)` impls build through [`default`](super::default).
pub trait FieldDefault: Field {
    /// The default stored value (`None`, `false`, the item's `Default`).
    fn default_value() -> Self::Value;
}

/// What `Clone`, `PartialEq` and `Debug` need of a field's codec; implemented wherever the
/// stored value has those traits. A separate trait from [`Field`], so that only the
/// [`impl_std_traits!`](crate::impl_std_traits) impls ask for them (asking in [`Field`] made
/// every layout prove them again and cost more build time than it saved).
pub trait FieldStd: Field {
    /// A copy of the stored value (for [`clone`](super::clone)).
    fn clone_value(v: Self::Ref<'_>) -> Self::Value;
    /// Whether two stored values are equal (for [`eq`](super::eq)).
    fn eq(a: Self::Ref<'_>, b: Self::Ref<'_>) -> bool;
    /// Adds the stored value to a `Debug` listing, under the field's name (for [`debug`](super::debug));
    /// a flags word only takes its name.
    fn debug(v: Self::Ref<'_>, out: &mut DebugFields<'_, '_>);
}

/// A struct's `Debug` output while it is built: the formatter's builder and the names of the
/// fields not listed yet.
pub struct DebugFields<'a, 'b> {
    pub(super) st: fmt::DebugStruct<'a, 'b>,
    pub(super) names: std::str::Split<'static, char>,
}

impl DebugFields<'_, '_> {
    #[inline]
    pub(super) fn skip(&mut self) {
        self.names.next();
    }

    #[inline]
    pub(super) fn field(&mut self, value: &dyn fmt::Debug) {
        let entry = self.names.next().unwrap_or("?");
        self.st.field(rust_name(entry), value);
    }
}

/// The TL name of a [`Info::fields`](super::Info::fields) entry (`name`, or `name=rust_name`).
pub(crate) fn tl_name(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(tl, _)| tl)
}

/// The Rust field name of a [`Info::fields`](super::Info::fields) entry: the TL name unless the entry gives another.
fn rust_name(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(_, rust)| rust)
}
