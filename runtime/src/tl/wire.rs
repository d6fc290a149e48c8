//! Declarative field layouts: a constructor names its fields' wire codecs as a tuple type, and
//! the generic code here reads and writes them, computing flags words on the way out.
//!
//! Writing is one pass over the fields: a flags word is written as a placeholder, the fields
//! after it set its bits as they are written, and the word is filled in at the end. (A first
//! pass for the bits and a second for the data read every field twice; the single pass made
//! serializing `messages.Messages` faster.)
//!
//! A generated constructor implements [`Fields`] with, for example,
//! `type Wire = (Flags, Bit<N2>, InputFile, Opt<Vec<InputDocument>, N0>)`: the flags word, a
//! `flags.2?true` bit, a required field (any [`Item`] is one), an optional field on bit 0. [`Bare`]
//! follows for every such type, so the generated crate holds declarations, not code: what is the
//! same for every constructor is written once, here. Generated code names everything it uses
//! through this module (imported as `tlw`).
//!
//! A layout's values are read into a `#[repr(C)]` record ([`Rec3`] and its siblings), and a
//! generated struct is `#[repr(C)]` with the same stored values in the same order, so the
//! record and the struct are one layout: [`Fields`] converts between them without a method per
//! struct (see its safety section). Those two methods per struct, with their wide signatures,
//! were more than a quarter of the generated crate's build time and a seventh of its peak
//! memory (BENCHMARKS.md).

use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};

pub use super::{
    Bare, DecodeError, Deserializable, Identifiable, Reader, RemoteCall, Serializable,
};

/// A small number as a type: a flag's bit or a flags word's number in a codec (`Opt<T, N3>`).
///
/// Types rather than const generic arguments: rustc type-checks and builds each `3` written as a
/// const argument as a body of its own, and the Telegram API has about 2,600 of them (16 MB of
/// the generated crate's peak memory).
pub trait Nat: 'static {
    /// The number.
    const N: u32;
}

macro_rules! nats {
    ($($n:ident $v:literal),*) => {$(
        #[doc = concat!("The number ", $v, " (a [`Nat`]).")]
        #[derive(Debug)]
        pub struct $n;
        impl Nat for $n {
            const N: u32 = $v;
        }
    )*};
}

nats!(
    N0 0, N1 1, N2 2, N3 3, N4 4, N5 5, N6 6, N7 7, N8 8, N9 9, N10 10, N11 11, N12 12, N13 13,
    N14 14, N15 15, N16 16, N17 17, N18 18, N19 19, N20 20, N21 21, N22 22, N23 23, N24 24,
    N25 25, N26 26, N27 27, N28 28, N29 29, N30 30, N31 31
);

/// How many `#` flags words one constructor may have (`flags`, `flags2`, ...).
pub const MAX_FLAG_WORDS: usize = 4;

/// State while reading one constructor: its flags words, as they are read.
///
/// Field codecs learn their place among the constructor's fields as an argument (a constant
/// once inlined) and note it in an error leaving them; the constructor adds its name and the
/// field's ([`Bare::deserialize_bare`]). A counter of the next field, kept here, cost a store
/// per field read.
#[derive(Debug, Default)]
pub struct Cursor {
    words: [u32; MAX_FLAG_WORDS],
}

impl Cursor {
    #[inline]
    fn is_set(&self, word: u32, bit: u32) -> bool {
        (self.words.get(word as usize)).is_some_and(|w| w & (1 << bit) != 0)
    }
}

/// The flags words of one constructor while it is written: their bits so far and where each
/// placeholder was written.
#[derive(Debug, Default)]
pub struct Flagged {
    words: [u32; MAX_FLAG_WORDS],
    /// Offset in the output of each flags word written (meaningful where `written` has its bit).
    at: [usize; MAX_FLAG_WORDS],
    written: u32,
}

impl Flagged {
    #[inline]
    fn set(&mut self, word: u32, bit: u32) {
        if let Some(w) = self.words.get_mut(word as usize) {
            *w |= 1 << bit;
        }
    }

    /// Fills in the placeholders with the words' final values.
    #[inline]
    fn patch(&self, out: &mut [u8]) {
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
/// `impl_std_traits!(T + Default)` impls build through [`default`].
pub trait FieldDefault: Field {
    /// The default stored value (`None`, `false`, the item's `Default`).
    fn default_value() -> Self::Value;
}

/// What `Clone`, `PartialEq` and `Debug` need of a field's codec; implemented wherever the
/// stored value has those traits. A separate trait from [`Field`], so that only the
/// [`impl_std_traits!`](crate::impl_std_traits) impls ask for them (asking in [`Field`] made
/// every layout prove them again and cost more build time than it saved).
pub trait FieldStd: Field {
    /// A copy of the stored value (for [`clone`]).
    fn clone_value(v: Self::Ref<'_>) -> Self::Value;
    /// Whether two stored values are equal (for [`eq`]).
    fn eq(a: Self::Ref<'_>, b: Self::Ref<'_>) -> bool;
    /// Adds the stored value to a `Debug` listing, under the field's name (for [`debug`]);
    /// a flags word only takes its name.
    fn debug(v: Self::Ref<'_>, out: &mut DebugFields<'_, '_>);
}

/// A struct's `Debug` output while it is built: the formatter's builder and the names of the
/// fields not listed yet.
pub struct DebugFields<'a, 'b> {
    st: fmt::DebugStruct<'a, 'b>,
    names: std::str::Split<'static, char>,
}

impl DebugFields<'_, '_> {
    #[inline]
    fn skip(&mut self) {
        self.names.next();
    }

    #[inline]
    fn field(&mut self, value: &dyn fmt::Debug) {
        let entry = self.names.next().unwrap_or("?");
        self.st.field(rust_name(entry), value);
    }
}

/// The TL name of a [`Info::fields`] entry (`name`, or `name=rust_name`).
pub(crate) fn tl_name(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(tl, _)| tl)
}

/// The Rust field name of a [`Info::fields`] entry: the TL name unless the entry gives another.
fn rust_name(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(_, rust)| rust)
}

/// How one value of a field travels: boxed or bare (`Item` for `T`: as `T` serializes itself;
/// [`BareOf`]: without its id; [`VecOf`]: a vector with a bare part).
pub trait Item {
    /// The value.
    type Value;
    /// Reads one value.
    fn read_item(r: &mut Reader<'_>) -> Result<Self::Value, DecodeError>;
    /// Writes one value.
    fn write_item(v: &Self::Value, out: &mut Vec<u8>);
}

impl<T: Serializable + Deserializable> Item for T {
    type Value = T;
    #[inline]
    fn read_item(r: &mut Reader<'_>) -> Result<T, DecodeError> {
        T::deserialize(r)
    }
    #[inline]
    fn write_item(v: &T, out: &mut Vec<u8>) {
        v.serialize(out);
    }
}

/// A constructor written bare (`%T`, or a constructor name used as a type).
pub struct BareOf<T>(PhantomData<T>);

impl<T: Bare> Item for BareOf<T> {
    type Value = T;
    #[inline]
    fn read_item(r: &mut Reader<'_>) -> Result<T, DecodeError> {
        T::deserialize_bare(r)
    }
    #[inline]
    fn write_item(v: &T, out: &mut Vec<u8>) {
        v.serialize_bare(out);
    }
}

/// A vector of `I`: with the `vector` id when `BOXED` (`Vector<T>`), else count and items only.
pub struct VecOf<const BOXED: bool, I>(PhantomData<I>);

impl<const BOXED: bool, I: Item> Item for VecOf<BOXED, I> {
    type Value = Vec<I::Value>;
    fn read_item(r: &mut Reader<'_>) -> Result<Self::Value, DecodeError> {
        if BOXED {
            r.expect_id(super::VECTOR_ID, "Vector")?;
        }
        let count = r.read_count()?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(I::read_item(r)?);
        }
        Ok(items)
    }
    fn write_item(v: &Self::Value, out: &mut Vec<u8>) {
        if BOXED {
            super::write_vector_header(out, v.len());
        } else {
            super::write_count(out, v.len());
        }
        for item in v {
            I::write_item(item, out);
        }
    }
}

/// A required field: any [`Item`], written as it is.
impl<I: Item> Field for I {
    type Value = I::Value;
    type Ref<'a>
        = &'a I::Value
    where
        Self: 'a;
    #[inline]
    fn read(r: &mut Reader<'_>, _: &mut Cursor, at: usize) -> Result<I::Value, DecodeError> {
        I::read_item(r).map_err(|e| e.in_field(at))
    }
    #[inline]
    fn write(v: &I::Value, _: &mut Flagged, out: &mut Vec<u8>) {
        I::write_item(v, out);
    }
    #[inline]
    fn refs(v: &I::Value) -> &I::Value {
        v
    }
}

impl<I: Item> FieldDefault for I
where
    I::Value: Default,
{
    #[inline]
    fn default_value() -> I::Value {
        I::Value::default()
    }
}

/// The [`FieldStd`] methods of a codec that stores nothing (a flags word, an implied bit): its
/// name is skipped in `Debug`.
macro_rules! std_not_stored {
    () => {
        #[inline]
        fn clone_value(_: &()) {}
        #[inline]
        fn eq(_: &(), _: &()) -> bool {
            true
        }
        #[inline]
        fn debug(_: &(), out: &mut DebugFields<'_, '_>) {
            out.skip();
        }
    };
}

/// The [`FieldStd`] methods of a codec whose stored value is cloned, compared and printed as
/// it is.
macro_rules! std_by_value {
    () => {
        #[inline]
        fn clone_value(v: &Self::Value) -> Self::Value {
            v.clone()
        }
        #[inline]
        fn eq(a: &Self::Value, b: &Self::Value) -> bool {
            a == b
        }
        #[inline]
        fn debug(v: &Self::Value, out: &mut DebugFields<'_, '_>) {
            out.field(v);
        }
    };
}

impl<I: Item> FieldStd for I
where
    I::Value: Clone + PartialEq + fmt::Debug,
{
    std_by_value!();
}

/// An optional field `flagsW.B?T`: present when bit `B` of flags word `W` (the first one unless
/// said) is set.
pub struct Opt<I, B, W = N0>(PhantomData<(I, B, W)>);

impl<I: Item, B: Nat, W: Nat> Field for Opt<I, B, W> {
    type Value = Option<I::Value>;
    type Ref<'a>
        = &'a Option<I::Value>
    where
        Self: 'a;
    /// Always inlined: an absent field (most of them, in most values) costs a bit test and no
    /// call; a present one is read by `read_present`.
    #[inline(always)]
    fn read(r: &mut Reader<'_>, cx: &mut Cursor, at: usize) -> Result<Self::Value, DecodeError> {
        if cx.is_set(W::N, B::N) {
            read_present::<I>(r, at)
        } else {
            Ok(None)
        }
    }
    #[inline]
    fn write(v: &Self::Value, flags: &mut Flagged, out: &mut Vec<u8>) {
        if let Some(value) = v {
            flags.set(W::N, B::N);
            I::write_item(value, out);
        }
    }
    #[inline]
    fn refs(v: &Self::Value) -> &Self::Value {
        v
    }
}

impl<I: Item, B: Nat, W: Nat> FieldDefault for Opt<I, B, W> {
    #[inline]
    fn default_value() -> Self::Value {
        None
    }
}

/// Reads an optional field that is present.
#[inline]
fn read_present<I: Item>(r: &mut Reader<'_>, at: usize) -> Result<Option<I::Value>, DecodeError> {
    match I::read_item(r) {
        Ok(value) => Ok(Some(value)),
        Err(e) => Err(e.in_field(at)),
    }
}

impl<I: Item, B: Nat, W: Nat> FieldStd for Opt<I, B, W>
where
    I::Value: Clone + PartialEq + fmt::Debug,
{
    std_by_value!();
}

/// A `?true` field whose bit an optional field on the same bit also stands for (`live_photo`
/// beside `video`): not stored, as the value carries it; it reads and writes nothing.
pub struct Implied;

impl Field for Implied {
    type Value = ();
    type Ref<'a> = &'a ();
    #[inline]
    fn read(_: &mut Reader<'_>, _: &mut Cursor, _: usize) -> Result<(), DecodeError> {
        Ok(())
    }
    #[inline]
    fn write(_: &(), _: &mut Flagged, _: &mut Vec<u8>) {}
    #[inline]
    fn refs(v: &()) -> &() {
        v
    }
}

impl FieldStd for Implied {
    std_not_stored!();
}

impl FieldDefault for Implied {
    #[inline]
    fn default_value() {}
}

/// A `flagsW.B?true` field: the bit itself, no data (flags word `W`: the first one unless said).
pub struct Bit<B, W = N0>(PhantomData<(B, W)>);

impl<B: Nat, W: Nat> Field for Bit<B, W> {
    type Value = bool;
    type Ref<'a> = &'a bool;
    #[inline]
    fn read(_: &mut Reader<'_>, cx: &mut Cursor, _: usize) -> Result<bool, DecodeError> {
        Ok(cx.is_set(W::N, B::N))
    }
    #[inline]
    fn write(v: &bool, flags: &mut Flagged, _: &mut Vec<u8>) {
        if *v {
            flags.set(W::N, B::N);
        }
    }
    #[inline]
    fn refs(v: &bool) -> &bool {
        v
    }
}

impl<B: Nat, W: Nat> FieldStd for Bit<B, W> {
    std_by_value!();
}

impl<B: Nat, W: Nat> FieldDefault for Bit<B, W> {
    #[inline]
    fn default_value() -> bool {
        false
    }
}

/// A `#` flags word, number `W` of its constructor (the first one unless said); not stored,
/// computed when writing.
pub struct Flags<W = N0>(PhantomData<W>);

impl<W: Nat> Field for Flags<W> {
    type Value = ();
    type Ref<'a> = &'a ();
    #[inline]
    fn read(r: &mut Reader<'_>, cx: &mut Cursor, at: usize) -> Result<(), DecodeError> {
        let word = u32::deserialize(r).map_err(|e| e.in_field(at))?;
        if let Some(w) = cx.words.get_mut(W::N as usize) {
            *w = word;
        }
        Ok(())
    }
    #[inline]
    fn write(_: &(), flags: &mut Flagged, out: &mut Vec<u8>) {
        if let Some(at) = flags.at.get_mut(W::N as usize) {
            *at = out.len();
            flags.written |= 1 << W::N;
        }
        out.extend_from_slice(&[0; 4]);
    }
    #[inline]
    fn refs(v: &()) -> &() {
        v
    }
}

impl<W: Nat> FieldStd for Flags<W> {
    std_not_stored!();
}

impl<W: Nat> FieldDefault for Flags<W> {
    #[inline]
    fn default_value() {}
}

macro_rules! tuple_field {
    ($rec:ident; $($t:ident $i:tt),*) => {
        /// The values of a layout of this arity, as read: a `#[repr(C)]` record, which the struct
        /// generated for the layout shares its memory layout with ([`Fields`]).
        #[repr(C)]
        pub struct $rec<$($t),*>($(pub $t),*);

        impl<$($t: Field),*> Field for ($($t,)*) {
            type Value = $rec<$($t::Value),*>;
            type Ref<'a> = ($($t::Ref<'a>,)*) where Self: 'a;
            const WIDTH: usize = 0 $(+ $t::WIDTH)*;
            #[inline]
            #[allow(unused_variables, unused_mut, unused_assignments, clippy::unused_unit)]
            fn read(r: &mut Reader<'_>, cx: &mut Cursor, at: usize) -> Result<Self::Value, DecodeError> {
                let mut at = at;
                Ok($rec($({
                    let value = $t::read(r, cx, at)?;
                    at += $t::WIDTH;
                    value
                }),*))
            }
            #[inline]
            #[allow(unused_variables)]
            fn write(v: Self::Ref<'_>, flags: &mut Flagged, out: &mut Vec<u8>) {
                $($t::write(v.$i, flags, out);)*
            }
            #[inline]
            #[allow(unused_variables, clippy::unused_unit)]
            fn refs(v: &Self::Value) -> Self::Ref<'_> {
                ($($t::refs(&v.$i),)*)
            }
        }

        impl<$($t: FieldStd),*> FieldStd for ($($t,)*) {
            #[inline]
            #[allow(unused_variables, clippy::unused_unit)]
            fn clone_value(v: Self::Ref<'_>) -> Self::Value {
                $rec($($t::clone_value(v.$i)),*)
            }
            #[inline]
            #[allow(unused_variables)]
            fn eq(a: Self::Ref<'_>, b: Self::Ref<'_>) -> bool {
                true $(&& $t::eq(a.$i, b.$i))*
            }
            #[inline]
            #[allow(unused_variables)]
            fn debug(v: Self::Ref<'_>, out: &mut DebugFields<'_, '_>) {
                $($t::debug(v.$i, out);)*
            }
        }

        impl<$($t: FieldDefault),*> FieldDefault for ($($t,)*) {
            #[inline]
            fn default_value() -> Self::Value {
                $rec($($t::default_value()),*)
            }
        }
    };
}

tuple_field!(Rec0;);
tuple_field!(Rec1; T0 0);
tuple_field!(Rec2; T0 0, T1 1);
tuple_field!(Rec3; T0 0, T1 1, T2 2);
tuple_field!(Rec4; T0 0, T1 1, T2 2, T3 3);
tuple_field!(Rec5; T0 0, T1 1, T2 2, T3 3, T4 4);
tuple_field!(Rec6; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5);
tuple_field!(Rec7; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6);
tuple_field!(Rec8; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7);
tuple_field!(Rec9; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8);
tuple_field!(Rec10; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9);
tuple_field!(Rec11; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10);
tuple_field!(Rec12; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11);
tuple_field!(Rec13; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12);
tuple_field!(Rec14; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13);
tuple_field!(Rec15; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13, T14 14);
tuple_field!(Rec16; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13, T14 14, T15 15);
// Wider tuples at a few arities only: each costs the runtime's build time in proportion to
// its width, and the generator fills a layout up to the next arity with `()`, a codec of no
// field (`src/render/rust.rs`, `WIDE_ARITIES`).
tuple_field!(Rec24;
    T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11,
    T12 12, T13 13, T14 14, T15 15, T16 16, T17 17, T18 18, T19 19, T20 20, T21 21, T22 22, T23 23
);
tuple_field!(Rec32;
    T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11,
    T12 12, T13 13, T14 14, T15 15, T16 16, T17 17, T18 18, T19 19, T20 20, T21 21, T22 22, T23 23,
    T24 24, T25 25, T26 26, T27 27, T28 28, T29 29, T30 30, T31 31
);
tuple_field!(Rec48;
    T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11,
    T12 12, T13 13, T14 14, T15 15, T16 16, T17 17, T18 18, T19 19, T20 20, T21 21, T22 22, T23 23,
    T24 24, T25 25, T26 26, T27 27, T28 28, T29 29, T30 30, T31 31, T32 32, T33 33, T34 34, T35 35,
    T36 36, T37 37, T38 38, T39 39, T40 40, T41 41, T42 42, T43 43, T44 44, T45 45, T46 46, T47 47
);
tuple_field!(Rec64;
    T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11,
    T12 12, T13 13, T14 14, T15 15, T16 16, T17 17, T18 18, T19 19, T20 20, T21 21, T22 22, T23 23,
    T24 24, T25 25, T26 26, T27 27, T28 28, T29 29, T30 30, T31 31, T32 32, T33 33, T34 34, T35 35,
    T36 36, T37 37, T38 38, T39 39, T40 40, T41 41, T42 42, T43 43, T44 44, T45 45, T46 46, T47 47,
    T48 48, T49 49, T50 50, T51 51, T52 52, T53 53, T54 54, T55 55, T56 56, T57 57, T58 58, T59 59,
    T60 60, T61 61, T62 62, T63 63
);

/// The tuple arities above 16 that implement [`Field`] (every arity up to 16 does); the
/// generator fills a layout wider than 16 up to the next one with `()` and nests tuples only
/// for constructors wider than the last (`channelFull` has 69 fields). The generator keeps the
/// same list (`src/render/rust.rs`, checked against this one by its tests).
pub const WIDE_ARITIES: [usize; 4] = [24, 32, 48, 64];

/// The widest tuple level (the last of [`WIDE_ARITIES`]).
///
/// A constructor's values are then one flat tuple, which the optimizer turns into the struct
/// field by field. Nested tuples of 16 were moved group by group into the struct, through the
/// stack: reading `message` (51 fields, 4 groups) spent more time in those copies than in
/// reading its fields.
pub const TUPLE_WIDTH: usize = WIDE_ARITIES[WIDE_ARITIES.len() - 1];

/// What a constructor's [`Fields`] impl says of it besides its codecs: one constant per
/// generated struct rather than three (each associated item costs the compiler memory, and the
/// generated crate has thousands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// The constructor id ([`Identifiable::CONSTRUCTOR_ID`] follows from it).
    pub id: u32,
    /// The TL name, with its namespace ([`Identifiable::NAME`] follows from it).
    pub name: &'static str,
    /// The TL names of the fields, in wire order and separated by spaces, for error messages
    /// and `Debug`; `name=rust_name` where the struct's field is named otherwise (`self=self_`).
    pub fields: &'static str,
}

/// A constructor or function described by its field layout. [`Bare`] (and so
/// [`Serializable`]/[`Deserializable`]) follows for every implementor.
///
/// The provided [`from_wire`](Self::from_wire) and [`to_wire`](Self::to_wire) treat the struct
/// and its layout's [`Value`] record as one layout (a move, a pointer cast), so a generated
/// struct needs no method of its own: tlgen writes `#[repr(C)]` structs whose fields are the
/// layout's stored values in order. The generated crate built 29% faster and in 14% less
/// memory for it (BENCHMARKS.md).
///
/// # Safety
///
/// An implementor that keeps the provided `from_wire` or `to_wire` must be `#[repr(C)]` (or
/// `#[repr(transparent)]` over such a struct) with, as its fields in order, exactly the values
/// of `Wire`'s record that are not zero-sized (flags words, implied bits and fillers are `()`),
/// each of the same type. The record is `#[repr(C)]` too, and zero-sized fields of alignment 1
/// take no room in such a layout, so the two then have the same size, alignment and field
/// offsets. The provided methods check size and alignment at compile time; the field types are
/// the implementor's promise (tlgen's tests check every generated struct's). An implementor that
/// overrides both methods has no such obligation: tlgen does so for layouts wider than
/// [`TUPLE_WIDTH`], whose records nest.
///
/// A struct that breaks the checked part of the contract does not compile once it is used:
///
/// ```compile_fail
/// use tlgen_runtime::tl::wire::{Fields, Flags, Info, Opt, N0};
/// use tlgen_runtime::Serializable;
///
/// // `c flags:# b:flags.0?int = T` stores an `Option<i32>`, not two `i64`.
/// #[repr(C)]
/// struct Wrong {
///     a: i64,
///     b: i64,
/// }
///
/// unsafe impl Fields for Wrong {
///     const INFO: Info = Info { id: 1, name: "c", fields: "flags b" };
///     type Wire = (Flags, Opt<i32, N0>);
/// }
///
/// let _ = Wrong { a: 1, b: 2 }.to_bytes();
/// ```
#[allow(unsafe_code)]
pub unsafe trait Fields: Sized {
    /// The constructor's id and names.
    const INFO: Info;
    /// The codecs of the fields, in wire order (flags words included).
    type Wire: Field;

    /// Builds the value from what was read: the record moved into the struct.
    #[inline]
    fn from_wire(v: <Self::Wire as Field>::Value) -> Self {
        const { assert_same_layout::<Self, Value<Self>>() };
        let v = ManuallyDrop::new(v);
        // SAFETY: by the trait's contract `Self` has the layout of its record (size and
        // alignment asserted above) with fields of the same types, so the record's bytes are a
        // valid `Self`; `v` is not dropped, so the values move into the result exactly once.
        unsafe { std::ptr::read((&raw const *v).cast::<Self>()) }
    }

    /// Views the value for writing: the struct seen as its record.
    #[inline]
    fn to_wire(&self) -> <Self::Wire as Field>::Ref<'_> {
        const { assert_same_layout::<Self, Value<Self>>() };
        // SAFETY: by the trait's contract `Self` and its record are one layout with fields of
        // the same types, so a reference to one is a valid reference to the other, for as long.
        let record = unsafe { &*(std::ptr::from_ref(self).cast::<Value<Self>>()) };
        Self::Wire::refs(record)
    }
}

/// Panics (at compile time, where called in a constant) unless `S` and `R` have the same size
/// and alignment: the part of [`Fields`]' contract that the compiler can check.
const fn assert_same_layout<S, R>() {
    assert!(
        mem::size_of::<S>() == mem::size_of::<R>() && mem::align_of::<S>() == mem::align_of::<R>(),
        "a struct implementing tl::wire::Fields does not have the layout of its record"
    );
}

/// The values read for constructor `T`: a (nested) tuple in wire order, `()` for flags words.
pub type Value<T> = <<T as Fields>::Wire as Field>::Value;

/// What is written for constructor `T`: references to its values, as [`Value`] holds them.
pub type Refs<'a, T> = <<T as Fields>::Wire as Field>::Ref<'a>;

/// `Clone::clone` of a constructor, field by field through its layout: what the
/// [`impl_std_traits!`](crate::impl_std_traits) impls call, so that the generated crate holds
/// one line per struct instead of a derived body.
#[inline]
pub fn clone<T: Fields>(value: &T) -> T
where
    T::Wire: FieldStd,
{
    T::from_wire(T::Wire::clone_value(value.to_wire()))
}

/// `Default::default` of a constructor: each stored field's default, through its layout (what
/// the `impl_std_traits!(T + Default)` impls call).
#[inline]
pub fn default<T: Fields>() -> T
where
    T::Wire: FieldDefault,
{
    T::from_wire(T::Wire::default_value())
}

/// `PartialEq::eq` of two constructors of the same type, field by field (flags words are not
/// stored, so they never differ).
#[inline]
pub fn eq<T: Fields>(a: &T, b: &T) -> bool
where
    T::Wire: FieldStd,
{
    T::Wire::eq(a.to_wire(), b.to_wire())
}

/// `Debug::fmt` of a constructor: `Name { field: value, .. }` as `#[derive(Debug)]` prints it
/// (stored fields only, under their Rust names).
#[inline]
pub fn debug<T: Fields>(value: &T, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result
where
    T::Wire: FieldStd,
{
    let mut out = DebugFields {
        st: f.debug_struct(name),
        names: T::INFO.fields.split(' '),
    };
    T::Wire::debug(value.to_wire(), &mut out);
    out.st.finish()
}

/// Implements `Clone`, `PartialEq` and `Debug` for generated constructor structs (each
/// implementing [`Fields`]) through [`clone`], [`eq`] and [`debug`], and with `T + Default`
/// also `Default` through [`default`]: the same behaviour as the derives, with one generic body
/// in this crate instead of one per struct in the generated one (the derives were about 40% of
/// its build time). The methods are `#[inline]`: like the rest of the generated code, they are
/// compiled where a program uses them.
#[macro_export]
macro_rules! impl_std_traits {
    ($t:ident + Default) => {
        $crate::impl_std_traits!($t);
        impl ::core::default::Default for $t {
            #[inline]
            fn default() -> Self {
                $crate::tl::wire::default()
            }
        }
    };
    ($($t:ident),* $(,)?) => {$(
        impl ::core::clone::Clone for $t {
            #[inline]
            fn clone(&self) -> Self {
                $crate::tl::wire::clone(self)
            }
        }
        impl ::core::cmp::PartialEq for $t {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                $crate::tl::wire::eq(self, other)
            }
        }
        impl ::core::fmt::Debug for $t {
            #[inline]
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                $crate::tl::wire::debug(self, ::core::stringify!($t), f)
            }
        }
    )*};
}

#[doc(inline)]
pub use crate::impl_std_traits;

/// A generated enum (a boxed type), seen one variant at a time: its `Clone`, `PartialEq`,
/// `Debug` and [`Serializable`] impls ([`impl_enum_traits!`](crate::impl_enum_traits)) are generic
/// code here over this one method, instead of four matches per enum in the generated crate (the
/// derives were 4% of its peak memory).
pub trait Variants: Sized + 'static {
    /// Calls `v` with the current variant: its name and its constructor (a unit variant's
    /// constructor is the unit struct of that name).
    fn visit<V: Visit<Self>>(&self, v: V) -> V::Output;
}

/// What is done with the variant [`Variants::visit`] finds.
pub trait Visit<E> {
    /// The result.
    type Output;
    /// A variant that holds its constructor, `name(x)`.
    fn variant<T: Variant<E>>(self, name: &'static str, x: &T) -> Self::Output;
    /// A variant without a value, `name`, and its constructor.
    #[inline]
    fn unit<T: Variant<E>>(self, name: &'static str, x: &T) -> Self::Output
    where
        Self: Sized,
    {
        self.variant(name, x)
    }
}

/// What the visitors need of a variant's constructor `T` of enum `E`: every generated
/// constructor has it.
pub trait Variant<E>: Clone + PartialEq + fmt::Debug + Serializable + Into<E> + 'static {}

impl<E, T: Clone + PartialEq + fmt::Debug + Serializable + Into<E> + 'static> Variant<E> for T {}

struct CloneVariant;

impl<E> Visit<E> for CloneVariant {
    type Output = E;
    #[inline]
    fn variant<T: Variant<E>>(self, _: &'static str, x: &T) -> E {
        x.clone().into()
    }
}

struct WriteVariant<'a>(&'a mut Vec<u8>);

impl<E> Visit<E> for WriteVariant<'_> {
    type Output = ();
    #[inline(always)]
    fn variant<T: Variant<E>>(self, _: &'static str, x: &T) {
        x.serialize(self.0);
    }
}

struct DebugVariant<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl<E> Visit<E> for DebugVariant<'_, '_> {
    type Output = fmt::Result;
    #[inline]
    fn variant<T: Variant<E>>(self, name: &'static str, x: &T) -> fmt::Result {
        self.0.debug_tuple(name).field(x).finish()
    }
    #[inline]
    fn unit<T: Variant<E>>(self, name: &'static str, _: &T) -> fmt::Result {
        self.0.write_str(name)
    }
}

/// Compares the variant found with the other value's.
struct EqVariant<'a, E>(&'a E);

impl<E: Variants> Visit<E> for EqVariant<'_, E> {
    type Output = bool;
    #[inline]
    fn variant<T: Variant<E>>(self, _: &'static str, x: &T) -> bool {
        self.0.visit(SameVariant(x))
    }
}

/// Whether the variant found holds a `T` equal to this one: the variants of an enum hold
/// distinct constructor types, so the type tells the variant.
struct SameVariant<'a, T>(&'a T);

impl<E, T: PartialEq + 'static> Visit<E> for SameVariant<'_, T> {
    type Output = bool;
    #[inline]
    fn variant<U: Variant<E>>(self, _: &'static str, y: &U) -> bool {
        (y as &dyn std::any::Any)
            .downcast_ref::<T>()
            .is_some_and(|y| y == self.0)
    }
}

/// `Clone::clone` of a generated enum: the variant's constructor cloned and wrapped again.
#[inline]
pub fn enum_clone<E: Variants>(value: &E) -> E {
    value.visit(CloneVariant)
}

/// `PartialEq::eq` of two generated enums: the same variant with equal constructors.
#[inline]
pub fn enum_eq<E: Variants>(a: &E, b: &E) -> bool {
    a.visit(EqVariant(b))
}

/// `Debug::fmt` of a generated enum, as `#[derive(Debug)]` prints it (`User(PeerUser { .. })`,
/// `Empty`).
#[inline]
pub fn enum_debug<E: Variants>(value: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    value.visit(DebugVariant(f))
}

/// [`Serializable::serialize`] of a generated enum: the variant's constructor, boxed. Always
/// inlined, with its visitor, so that writing an enum costs what a `match` of its own did
/// (`#[inline]` alone left serializing `messages.Messages` 3% slower).
#[inline(always)]
pub fn enum_serialize<E: Variants>(value: &E, out: &mut Vec<u8>) {
    value.visit(WriteVariant(out));
}

/// Implements `Clone`, `PartialEq`, `Debug` and [`Serializable`] for generated enums (each
/// implementing [`Variants`]) through [`enum_clone`], [`enum_eq`], [`enum_debug`] and
/// [`enum_serialize`]: the behaviour of the derives, with the per-variant code in one method.
#[macro_export]
macro_rules! impl_enum_traits {
    ($($t:ident),* $(,)?) => {$(
        impl ::core::clone::Clone for $t {
            #[inline]
            fn clone(&self) -> Self {
                $crate::tl::wire::enum_clone(self)
            }
        }
        impl ::core::cmp::PartialEq for $t {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                $crate::tl::wire::enum_eq(self, other)
            }
        }
        impl ::core::fmt::Debug for $t {
            #[inline]
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                $crate::tl::wire::enum_debug(self, f)
            }
        }
        impl $crate::tl::wire::Serializable for $t {
            #[inline]
            fn serialize(&self, out: &mut ::std::vec::Vec<u8>) {
                $crate::tl::wire::enum_serialize(self, out)
            }
        }
    )*};
}

#[doc(inline)]
pub use crate::impl_enum_traits;

/// Every constructor is identified by its layout's constants: one impl block per generated
/// struct instead of two.
impl<T: Fields> Identifiable for T {
    const CONSTRUCTOR_ID: u32 = T::INFO.id;
    const NAME: &'static str = T::INFO.name;
}

impl<T: Fields> Bare for T {
    #[inline]
    fn serialize_bare(&self, out: &mut Vec<u8>) {
        let mut flags = Flagged::default();
        T::Wire::write(self.to_wire(), &mut flags, out);
        flags.patch(out);
    }

    #[inline]
    fn deserialize_bare(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match T::Wire::read(r, &mut Cursor::default(), 0) {
            Ok(values) => Ok(T::from_wire(values)),
            Err(e) => Err(e.name_field(T::INFO.name, T::INFO.fields)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `c flags:# a:flags.0?true b:flags.1?int = T` (shared/vectors/tl-crc32-and-serialization.txt, section D):
    /// a struct with the layout of its record, as tlgen generates them.
    #[derive(Debug, PartialEq)]
    #[repr(C)]
    struct C {
        a: bool,
        b: Option<i32>,
    }

    // SAFETY: `#[repr(C)]`, and its fields are the record's stored values (`bool`,
    // `Option<i32>`) in order.
    #[allow(unsafe_code)]
    unsafe impl Fields for C {
        const INFO: Info = Info {
            id: 0x1234_5678,
            name: "c",
            fields: "flags a b",
        };
        type Wire = (Flags, Bit<N0>, Opt<i32, N1>);
    }

    #[test]
    fn flags_are_computed_and_read_back() {
        let c = C {
            a: true,
            b: Some(7),
        };
        let mut out = Vec::new();
        c.serialize_bare(&mut out);
        assert_eq!(out, [3, 0, 0, 0, 7, 0, 0, 0]);
        assert_eq!(C::deserialize_bare(&mut Reader::new(&out)).unwrap(), c);
        let none = C { a: false, b: None };
        assert_eq!(none.to_bytes()[4..], [0, 0, 0, 0]);
        let err = C::deserialize_bare(&mut Reader::new(&[2, 0, 0, 0, 1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected end of input: needed 4 bytes, 1 left at byte 4 in c.b"
        );
    }

    /// `d flags:# a:flags.0?true flags2:# n:int b:flags2.3?int = T`: a second flags word (the
    /// codecs' word parameter), a required field, and errors that name each field by its place.
    /// Its conversions are written out (as tlgen does for layouts too wide for one record), so
    /// it needs no particular layout: the fields are in another order than the record's.
    #[derive(Debug, PartialEq)]
    struct D {
        b: Option<i32>,
        n: i32,
        a: bool,
    }

    // SAFETY: both conversions are overridden, so the layout is free.
    #[allow(unsafe_code)]
    unsafe impl Fields for D {
        const INFO: Info = Info {
            id: 0x0000_00d0,
            name: "d",
            fields: "flags a flags2 n b",
        };
        type Wire = (Flags, Bit<N0>, Flags<N1>, i32, Opt<i32, N3, N1>);
        fn from_wire(Rec5((), a, (), n, b): Value<Self>) -> Self {
            Self { a, n, b }
        }
        fn to_wire(&self) -> Refs<'_, Self> {
            (&(), &self.a, &(), &self.n, &self.b)
        }
    }

    /// `g flags:# a:flags.0?true live:flags.1?true self:flags.1?int n:int = T`, declared twice to
    /// compare them: with the derives (`G`) and with `impl_std_traits!` (`H`). `live` is implied
    /// by `self`'s bit, so not stored; `self` is stored as `self_`.
    macro_rules! layout_g {
        ($(#[$attr:meta])* $name:ident, $tl:literal) => {
            $(#[$attr])*
            #[repr(C)]
            struct $name {
                a: bool,
                self_: Option<i32>,
                n: i32,
            }

            // SAFETY: `#[repr(C)]` with the record's stored values (`bool`, `Option<i32>`,
            // `i32`) in order.
            #[allow(unsafe_code)]
            unsafe impl Fields for $name {
                const INFO: Info = Info {
                    id: 0x0000_00e0,
                    name: $tl,
                    fields: "flags a live self=self_ n",
                };
                type Wire = (Flags, Bit<N0>, Implied, Opt<i32, N1>, i32);
            }
        };
    }

    layout_g!(
        #[derive(Debug, Clone, PartialEq, Default)]
        G,
        "g"
    );
    layout_g!(H, "h");
    crate::impl_std_traits!(H + Default);

    #[test]
    fn std_traits_behave_like_the_derives() {
        let g = G {
            a: true,
            self_: Some(9),
            n: 5,
        };
        let h = H {
            a: true,
            self_: Some(9),
            n: 5,
        };
        assert_eq!(format!("{h:?}"), format!("{g:?}").replacen('G', "H", 1));
        assert_eq!(format!("{h:#?}"), format!("{g:#?}").replacen('G', "H", 1));
        assert_eq!(format!("{h:?}"), "H { a: true, self_: Some(9), n: 5 }");
        assert_eq!(
            format!("{:?}", H::default()),
            format!("{:?}", G::default()).replacen('G', "H", 1)
        );
        let copy = h.clone();
        assert!(copy == h);
        assert!(copy.n == 5 && copy.self_ == Some(9) && copy.a);
        for other in [
            H {
                a: false,
                ..h.clone()
            },
            H { n: 6, ..h.clone() },
            H {
                self_: None,
                ..h.clone()
            },
        ] {
            assert!(other != h);
        }
        // The implied bit is set by the value that carries it and read back through it; errors
        // name the field as the schema does.
        let bytes = h.to_bytes();
        assert_eq!(bytes[4..], [3, 0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0]);
        assert!(H::from_bytes(&bytes).unwrap() == h);
        let err = H::from_bytes(&bytes[..10]).unwrap_err().to_string();
        assert!(err.ends_with("at byte 8 in h.self"), "{err}");
    }

    /// An enum of `H`, a unit variant and a variant that holds a unit constructor, twice: with
    /// the derives (`Derived`) and with `impl_enum_traits!` (`Visited`), which must behave the
    /// same.
    #[derive(Debug, Clone, PartialEq)]
    #[repr(C)]
    struct U;

    // SAFETY: a unit struct, as the record of an empty layout.
    #[allow(unsafe_code)]
    unsafe impl Fields for U {
        const INFO: Info = Info {
            id: 0x0000_00f0,
            name: "u",
            fields: "",
        };
        type Wire = ();
    }

    /// The unit constructor of `Empty`.
    #[derive(Debug, Clone, PartialEq)]
    #[repr(C)]
    struct E;

    // SAFETY: a unit struct, as the record of an empty layout.
    #[allow(unsafe_code)]
    unsafe impl Fields for E {
        const INFO: Info = Info {
            id: 0x0000_00f1,
            name: "e",
            fields: "",
        };
        type Wire = ();
    }

    macro_rules! enum_of {
        ($(#[$attr:meta])* $name:ident) => {
            $(#[$attr])*
            enum $name {
                H(Box<H>),
                Empty,
                U(U),
            }

            impl From<H> for $name {
                fn from(x: H) -> Self {
                    Self::H(Box::new(x))
                }
            }

            impl From<U> for $name {
                fn from(x: U) -> Self {
                    Self::U(x)
                }
            }

            impl From<E> for $name {
                fn from(_: E) -> Self {
                    Self::Empty
                }
            }
        };
    }

    enum_of!(
        #[derive(Debug, Clone, PartialEq)]
        Derived
    );
    enum_of!(Visited);
    crate::impl_enum_traits!(Visited);

    impl Variants for Visited {
        fn visit<V: Visit<Self>>(&self, visitor: V) -> V::Output {
            match self {
                Self::H(x) => visitor.variant("H", &**x),
                Self::Empty => visitor.unit("Empty", &E),
                Self::U(x) => visitor.variant("U", x),
            }
        }
    }

    #[test]
    fn enum_traits_behave_like_the_derives() {
        let h = || H {
            a: true,
            self_: Some(9),
            n: 5,
        };
        let pairs = [
            (Derived::H(Box::new(h())), Visited::H(Box::new(h()))),
            (Derived::Empty, Visited::Empty),
            (Derived::U(U), Visited::U(U)),
        ];
        for (d, v) in &pairs {
            assert_eq!(format!("{v:?}"), format!("{d:?}"));
            assert_eq!(format!("{v:#?}"), format!("{d:#?}"));
            assert!(v.clone() == *v && d.clone() == *d);
        }
        for (i, (d, v)) in pairs.iter().enumerate() {
            for (j, (d2, v2)) in pairs.iter().enumerate() {
                assert_eq!(v == v2, i == j, "{v:?} == {v2:?}");
                assert_eq!(d == d2, v == v2);
            }
        }
        let other = Visited::H(Box::new(H { n: 6, ..h() }));
        assert!(other != pairs[0].1);
        // The variant's constructor, boxed: `Empty` is written as the unit constructor it holds.
        assert_eq!(pairs[0].1.to_bytes(), h().to_bytes());
        assert_eq!(pairs[1].1.to_bytes(), 0xf1_u32.to_le_bytes());
        assert_eq!(pairs[2].1.to_bytes(), 0xf0_u32.to_le_bytes());
    }

    #[test]
    fn second_flags_words_and_field_names_in_errors() {
        let d = D {
            a: true,
            n: 5,
            b: Some(9),
        };
        let mut out = Vec::new();
        d.serialize_bare(&mut out);
        assert_eq!(out, [1, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0]);
        assert_eq!(D::deserialize_bare(&mut Reader::new(&out)).unwrap(), d);
        let message = |len: usize| {
            D::deserialize_bare(&mut Reader::new(&out[..len]))
                .unwrap_err()
                .to_string()
        };
        assert!(
            message(2).ends_with("at byte 0 in d.flags"),
            "{}",
            message(2)
        );
        assert!(
            message(6).ends_with("at byte 4 in d.flags2"),
            "{}",
            message(6)
        );
        assert!(message(10).ends_with("at byte 8 in d.n"), "{}", message(10));
        assert!(
            message(14).ends_with("at byte 12 in d.b"),
            "{}",
            message(14)
        );
    }
}
