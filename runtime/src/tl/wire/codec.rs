//! The codecs of single fields: items (boxed, bare, boxed on the heap, vectors), optional
//! fields, `?true` bits and flags words.

use std::fmt;
use std::marker::PhantomData;

use super::{
    Bare, Cursor, DebugFields, DecodeError, Deserializable, Field, FieldDefault, FieldStd, Flagged,
    Nat, Reader, Serializable, N0,
};

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

/// A value of `I` held in a `Box`: a bare constructor on a cycle of types (`next:flags.0?%Node`
/// inside `node`), which would otherwise have no finite size.
pub struct Heap<I>(PhantomData<I>);

impl<I: Item> Item for Heap<I> {
    type Value = Box<I::Value>;
    /// One level deeper: a cycle of bare constructors recurses through here.
    #[inline]
    fn read_item(r: &mut Reader<'_>) -> Result<Self::Value, DecodeError> {
        r.descend()?;
        let value = Box::new(I::read_item(r)?);
        r.leave();
        Ok(value)
    }
    #[inline]
    fn write_item(v: &Self::Value, out: &mut Vec<u8>) {
        I::write_item(v, out);
    }
}

/// A vector of `I`: with the `vector` id when `BOXED` (`Vector<T>`), else count and items only.
pub struct VecOf<const BOXED: bool, I>(PhantomData<I>);

impl<const BOXED: bool, I: Item> Item for VecOf<BOXED, I> {
    type Value = Vec<I::Value>;
    fn read_item(r: &mut Reader<'_>) -> Result<Self::Value, DecodeError> {
        if BOXED {
            r.expect_id(crate::tl::VECTOR_ID, "Vector")?;
        }
        r.read_items(I::read_item)
    }
    fn write_item(v: &Self::Value, out: &mut Vec<u8>) {
        if BOXED {
            crate::tl::write_vector_header(out, v.len());
        } else {
            crate::tl::write_count(out, v.len());
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
