//! A bounds-checked cursor over untrusted TL bytes.

use super::{Bare, DecodeError, DecodeErrorKind, Deserializable, Object, VECTOR_ID};

/// How deep values may nest before decoding stops with [`DecodeErrorKind::TooDeep`]: a boxed
/// value, a vector and a bare value held in a box (on a cycle of types) each count one level,
/// so that every recursive path through a schema is bounded.
pub const DEFAULT_MAX_DEPTH: u32 = 64;

/// How many bytes of memory, per byte of input, vectors may reserve up front while a reader
/// decodes. A vector's count is only checked against the bytes left (each item takes at least
/// 4 of them), while an item may be far bigger in memory, and vectors nested in one another
/// each reserve for their own count: past this budget a vector starts empty and grows as its
/// items are read, so that the memory a decode asks for follows what the input holds.
pub const RESERVE_PER_INPUT_BYTE: usize = 8;

/// Reads TL values from a byte slice. Every read is bounds-checked, no length field is trusted
/// before the input is known to hold that many bytes, nesting is bounded, and the memory
/// reserved for vectors before their items are read is bounded by the input's length.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: u32,
    max_depth: u32,
    /// Bytes that vectors may still reserve before their items are read.
    reserve: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`, with the default nesting limit.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            depth: 0,
            max_depth: DEFAULT_MAX_DEPTH,
            reserve: buf.len().saturating_mul(RESERVE_PER_INPUT_BYTE),
        }
    }

    /// Sets how deep values may nest (see [`DEFAULT_MAX_DEPTH`]).
    pub fn with_max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// The offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// An error of `kind` at the current position.
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(kind, self.pos)
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.error(DecodeErrorKind::TrailingBytes { count })),
        }
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        match self.buf.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(self.error(DecodeErrorKind::UnexpectedEof {
                needed: n,
                remaining: self.remaining(),
            })),
        }
    }

    /// Takes the next `N` bytes as an array.
    #[inline]
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads a little-endian `u32` (a constructor id, or a `#` nat).
    #[inline]
    pub fn read_u32(&mut self) -> Result<u32, DecodeError> {
        self.take_array().map(u32::from_le_bytes)
    }

    /// Reads the rest of the input.
    pub fn take_rest(&mut self) -> &'a [u8] {
        // `pos <= buf.len()` always holds: only `take` advances it, after checking.
        let rest = &self.buf[self.pos..];
        self.pos = self.buf.len();
        rest
    }

    /// Reads a field of a constructor; on error, names it (`"user.first_name"`).
    #[inline]
    pub fn read<T: Deserializable>(&mut self, at: &'static str) -> Result<T, DecodeError> {
        T::deserialize(self).map_err(|e| e.within(at))
    }

    /// Reads an optional field: present when bit `bit` of `flags` is set.
    #[inline]
    pub fn read_if<T: Deserializable>(
        &mut self,
        flags: u32,
        bit: u32,
        at: &'static str,
    ) -> Result<Option<T>, DecodeError> {
        if flags & (1 << bit) != 0 {
            self.read(at).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a field written bare (`%T`, or a constructor name as the type).
    pub fn read_bare<T: Bare>(&mut self, at: &'static str) -> Result<T, DecodeError> {
        T::deserialize_bare(self).map_err(|e| e.within(at))
    }

    /// Reads the fields of a constructor (its bare form); the constructor is the type the caller
    /// expects, so an enum variant reads its constructor with `Self::Variant(r.bare()?)`.
    #[inline]
    pub fn bare<T: Bare>(&mut self) -> Result<T, DecodeError> {
        T::deserialize_bare(self)
    }

    /// Reads the fields of a constructor into a box (an enum variant that breaks a cycle), so
    /// that the value is built on the heap side of the call and not in the caller's frame.
    /// The box is allocated before the fields are read, so that the value is written straight
    /// into it rather than built on the stack and copied (696 bytes for a `message`); a failed
    /// read frees it. Its size is the type's, never taken from the input.
    #[inline(never)]
    pub fn read_boxed<T: Bare>(&mut self) -> Result<Box<T>, DecodeError> {
        let slot = Box::<T>::new_uninit();
        let value = T::deserialize_bare(self)?;
        Ok(Box::write(slot, value))
    }

    /// Reads a vector; `boxed` says whether it starts with the `vector` id, `item` reads one item.
    pub fn read_vec_with<T>(
        &mut self,
        boxed: bool,
        at: &'static str,
        item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let inner = |r: &mut Self| -> Result<Vec<T>, DecodeError> {
            if boxed {
                r.expect_id(VECTOR_ID, "Vector")?;
            }
            r.read_items(item)
        };
        inner(self).map_err(|e| e.within(at))
    }

    /// Reads a vector's count and its items (one level deeper), reserving room up front for
    /// as many items as the reservation budget allows ([`RESERVE_PER_INPUT_BYTE`]).
    #[inline]
    pub fn read_items<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        self.descend()?;
        let count = self.read_count()?;
        let mut items = Vec::with_capacity(self.reservable::<T>(count));
        for _ in 0..count {
            items.push(item(self)?);
        }
        self.leave();
        Ok(items)
    }

    /// How many of `count` items of type `T` a vector may reserve room for before they are
    /// read, taken from the reader's budget.
    #[inline]
    fn reservable<T>(&mut self, count: usize) -> usize {
        let size = std::mem::size_of::<T>();
        if size == 0 {
            // A vector of zero-sized items allocates nothing.
            return count;
        }
        let n = count.min(self.reserve / size);
        self.reserve -= n * size; // n * size <= reserve
        n
    }

    /// Reads a vector count and checks that the rest of the input can hold that many items
    /// (every TL item takes at least 4 bytes), so no allocation trusts the length field.
    pub fn read_count(&mut self) -> Result<usize, DecodeError> {
        let start = self.pos;
        let count = i32::from_le_bytes(self.take_array()?);
        let remaining = self.remaining();
        match usize::try_from(count) {
            Ok(n) if n <= remaining / 4 => Ok(n),
            _ => Err(DecodeError::new(
                DecodeErrorKind::TooManyItems {
                    count: i64::from(count),
                    remaining,
                },
                start,
            )),
        }
    }

    /// Reads a field of type `Object`: the rest of the input, kept as raw bytes.
    pub fn read_object(&mut self, at: &'static str) -> Result<Object, DecodeError> {
        self.read(at)
    }

    /// Reads a constructor id and fails unless it is `id`.
    #[inline]
    pub fn expect_id(&mut self, id: u32, name: &'static str) -> Result<(), DecodeError> {
        let start = self.pos;
        let found = self.read_u32()?;
        if found == id {
            Ok(())
        } else {
            Err(DecodeError::new(
                DecodeErrorKind::UnexpectedConstructor {
                    expected: name,
                    expected_id: id,
                    id: found,
                },
                start,
            ))
        }
    }

    /// Starts a boxed value: reads its constructor id and goes one level deeper.
    /// Pair with [`Reader::leave`] once the value is read.
    #[inline]
    pub fn enter(&mut self) -> Result<u32, DecodeError> {
        self.descend()?;
        self.read_u32()
    }

    /// Goes one level deeper, or fails with [`DecodeErrorKind::TooDeep`] at the limit. Pair
    /// with [`Reader::leave`] once the nested value is read. (A failed read leaves the level
    /// counted: the value, and so the decode, has failed.)
    #[inline]
    pub fn descend(&mut self) -> Result<(), DecodeError> {
        if self.depth >= self.max_depth {
            return Err(self.too_deep());
        }
        self.depth += 1;
        Ok(())
    }

    #[cold]
    fn too_deep(&self) -> DecodeError {
        self.error(DecodeErrorKind::TooDeep {
            limit: self.max_depth,
        })
    }

    /// Ends a value started with [`Reader::enter`] or [`Reader::descend`].
    #[inline]
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The error for an id that no constructor of boxed type `ty` has (the id was just read).
    #[cold]
    pub fn unknown(&self, ty: &'static str, id: u32) -> DecodeError {
        DecodeError::new(
            DecodeErrorKind::UnknownConstructor { ty, id },
            self.pos.saturating_sub(4),
        )
    }
}
