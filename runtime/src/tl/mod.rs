//! TL serialization: the traits generated code implements, and the primitive types' wire format.
//!
//! Wire rules (core.telegram.org/mtproto/serialize): values are little-endian 32-bit words;
//! `string`/`bytes` carry a 1- or 4-byte length header and zero padding to a multiple of 4; a boxed
//! value starts with its 4-byte constructor id, a bare one does not.

mod error;
mod primitives;
mod reader;
#[doc(hidden)]
pub mod wire;

pub use error::{DecodeError, DecodeErrorKind};
pub use primitives::{
    write_bytes, write_count, write_vec_with, write_vector_header, Object, VECTOR_ID,
};
pub use reader::{Reader, DEFAULT_MAX_DEPTH, RESERVE_PER_INPUT_BYTE};

/// A value that can be written in TL form (boxed, where the type is boxed).
pub trait Serializable {
    /// Appends the serialized value to `out`.
    fn serialize(&self, out: &mut Vec<u8>);

    /// Serializes into a new buffer.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.serialize(&mut out);
        out
    }
}

/// A value that can be read from TL form (boxed, where the type is boxed).
pub trait Deserializable: Sized {
    /// Reads one value from `r`, leaving the reader after it.
    fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Reads one value that must span all of `bytes`.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::deserialize(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// A TL constructor or function: its id and its name as written in the schema.
pub trait Identifiable {
    /// The 32-bit constructor id (`#xxxxxxxx` in the schema, or the CRC32 of the normalized line).
    const CONSTRUCTOR_ID: u32;
    /// The TL name, with its namespace (`account.updateProfile`).
    const NAME: &'static str;
}

/// A TL function: the request that is sent, and the type of its result.
pub trait RemoteCall: Serializable {
    /// What the server answers with.
    type Return: Deserializable;
}

/// The fields of a constructor without its id (the bare form). Generated for every constructor
/// and function; the boxed form (`Serializable`, `Deserializable`) follows from it.
pub trait Bare: Sized {
    /// Appends the fields, flags words computed from the optional fields.
    fn serialize_bare(&self, out: &mut Vec<u8>);
    /// Reads the fields.
    fn deserialize_bare(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

impl<T: Bare + Identifiable> Serializable for T {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&T::CONSTRUCTOR_ID.to_le_bytes());
        self.serialize_bare(out);
    }
}

impl<T: Bare + Identifiable> Deserializable for T {
    #[inline]
    fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.expect_id(T::CONSTRUCTOR_ID, T::NAME)?;
        T::deserialize_bare(r)
    }
}
