//! Decode errors: what went wrong, at which byte, inside which type and field.

use std::fmt;

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the value did.
    UnexpectedEof {
        /// Bytes the value still needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A boxed value started with an id that no constructor of its type has.
    UnknownConstructor {
        /// The boxed type being read.
        ty: &'static str,
        /// The id found.
        id: u32,
    },
    /// A boxed constructor (or `Bool`, or `Vector`) was expected and another id came.
    UnexpectedConstructor {
        /// What was being read.
        expected: &'static str,
        /// Its id.
        expected_id: u32,
        /// The id found.
        id: u32,
    },
    /// A `string` was not valid UTF-8 (use `bytes` in the schema for binary data).
    InvalidUtf8,
    /// A length prefix that no TL value can have (first byte 0xff).
    InvalidLength {
        /// The prefix byte.
        prefix: u8,
    },
    /// A vector announced more items than the rest of the input can hold.
    TooManyItems {
        /// The announced count.
        count: i64,
        /// Bytes left after the count.
        remaining: usize,
    },
    /// Values (boxed values, vectors, boxed bare values) were nested deeper than the reader
    /// allows.
    TooDeep {
        /// The limit.
        limit: u32,
    },
    /// Bytes were left after the value.
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// A failure to decode untrusted TL bytes: the kind, the byte offset, and the path of
/// `type.field` names from the outermost value to the failing one.
///
/// One pointer wide (the details are boxed), so that `Result<T, DecodeError>` of a small `T`
/// is returned in registers: every field read returns one, and a 64-byte error made each of
/// them a copy through memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    kind: DecodeErrorKind,
    offset: usize,
    /// Innermost first, as the error unwinds: (type, field); field is empty when not known.
    path: Vec<(&'static str, &'static str)>,
    /// The place, among its constructor's fields, of the field the error is leaving, until
    /// the constructor names it: the field codecs know their place, the constructor the names
    /// (so reading a field carries no names, only a constant).
    field: Option<usize>,
}

impl DecodeError {
    /// An error of `kind` at byte `offset`.
    #[cold]
    pub fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self(Box::new(Details {
            kind,
            offset,
            path: Vec::new(),
            field: None,
        }))
    }

    /// Adds the enclosing `type.field` as the error leaves it.
    #[cold]
    pub fn within(mut self, at: &'static str) -> Self {
        self.0.path.push((at, ""));
        self
    }

    /// Adds the enclosing constructor and field as the error leaves it.
    #[cold]
    pub fn within_field(mut self, ctor: &'static str, field: &'static str) -> Self {
        self.0.path.push((ctor, field));
        self
    }

    /// Notes that the error leaves field number `at` of the constructor being read; the
    /// constructor names it with [`DecodeError::name_field`].
    #[cold]
    pub(crate) fn in_field(mut self, at: usize) -> Self {
        self.0.field = Some(at);
        self
    }

    /// Adds constructor `ctor` and the name of the field noted by [`DecodeError::in_field`], as
    /// `names` lists them ([`Info::fields`](super::wire::Info::fields)), as the error leaves
    /// the constructor.
    #[cold]
    pub(crate) fn name_field(mut self, ctor: &'static str, names: &'static str) -> Self {
        match self.0.field.take() {
            Some(at) => {
                let entry = names.split(' ').nth(at).unwrap_or("?");
                self.within_field(ctor, super::wire::tl_name(entry))
            }
            None => self,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.0.kind
    }

    /// The byte offset, from the start of the input, where it went wrong.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// The `(type, field)` pairs from the outermost value to the failing one (field empty when
    /// the place was named as a whole).
    pub fn path(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.0.path.iter().rev().copied()
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEof { needed, remaining } => write!(
                f,
                "unexpected end of input: needed {needed} bytes, {remaining} left"
            ),
            Self::UnknownConstructor { ty, id } => {
                write!(f, "unknown constructor id {id:#010x} for type {ty}")
            }
            Self::UnexpectedConstructor {
                expected,
                expected_id,
                id,
            } => write!(
                f,
                "expected {expected} (id {expected_id:#010x}), found id {id:#010x}"
            ),
            Self::InvalidUtf8 => write!(f, "string is not valid utf-8"),
            Self::InvalidLength { prefix } => {
                write!(f, "invalid length prefix {prefix:#04x}")
            }
            Self::TooManyItems { count, remaining } => write!(
                f,
                "vector of {count} items cannot fit in the {remaining} bytes left"
            ),
            Self::TooDeep { limit } => {
                write!(f, "values nested deeper than the limit of {limit}")
            }
            Self::TrailingBytes { count } => {
                write!(f, "{count} bytes left after the value")
            }
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.0.kind, self.0.offset)?;
        if !self.0.path.is_empty() {
            f.write_str(" in ")?;
            for (i, (ty, field)) in self.path().enumerate() {
                if i > 0 {
                    f.write_str(" > ")?;
                }
                f.write_str(ty)?;
                if !field.is_empty() {
                    write!(f, ".{field}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field read returns a `Result<_, DecodeError>`: a one-pointer error keeps small ones
    /// in registers.
    #[test]
    fn the_error_is_one_pointer_wide() {
        assert_eq!(
            std::mem::size_of::<DecodeError>(),
            std::mem::size_of::<usize>()
        );
        assert_eq!(std::mem::size_of::<Result<u32, DecodeError>>(), 16);
    }
}
