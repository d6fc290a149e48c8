//! A constructor described by its layout ([`Fields`]), and the [`Bare`] and [`Identifiable`]
//! impls that follow from it.

use super::{Bare, Cursor, DecodeError, Field, Flagged, Identifiable, Reader};

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
/// [`Serializable`](super::Serializable)/[`Deserializable`](super::Deserializable)) follows for every implementor.
///
/// A generated struct implements it with its id and names, its fields' codecs as one tuple
/// type, and two conversions between the struct and the values its layout reads and writes:
/// [`from_wire`](Self::from_wire) builds the struct from the record read, and
/// [`to_wire`](Self::to_wire) lends its stored fields, in wire order, for writing. Both are
/// plain safe code, checked by the compiler field by field.
pub trait Fields: Sized {
    /// The constructor's id and names.
    const INFO: Info;
    /// The codecs of the fields, in wire order (flags words included).
    type Wire: Field;

    /// Builds the value from what was read.
    fn from_wire(v: <Self::Wire as Field>::Value) -> Self;

    /// Views the value for writing: references to its stored fields in wire order (`&()` for
    /// flags words and implied bits).
    fn to_wire(&self) -> <Self::Wire as Field>::Ref<'_>;
}

/// The values read for constructor `T`: a (nested) tuple in wire order, `()` for flags words.
pub type Value<T> = <<T as Fields>::Wire as Field>::Value;

/// What is written for constructor `T`: references to its values, as [`Value`] holds them.
pub type Refs<'a, T> = <<T as Fields>::Wire as Field>::Ref<'a>;

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
