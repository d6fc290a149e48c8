//! Wire format of the builtin types: int, long, double, `#`, int128/256/512, string, bytes,
//! Bool, Vector, optional fields and `Object`.

use super::{DecodeError, DecodeErrorKind, Deserializable, Reader, Serializable};

/// `vector#1cb5c415 {t:Type} # [ t ] = Vector t`.
pub const VECTOR_ID: u32 = 0x1cb5c415;
const BOOL_TRUE: u32 = 0x997275b5;
const BOOL_FALSE: u32 = 0xbc799737;

macro_rules! le_number {
    ($($ty:ty),*) => {$(
        impl Serializable for $ty {
            #[inline]
            fn serialize(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Deserializable for $ty {
            #[inline]
            fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.take_array().map(<$ty>::from_le_bytes)
            }
        }
    )*};
}
le_number!(i32, u32, i64, f64);

impl<const N: usize> Serializable for [u8; N] {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> Deserializable for [u8; N] {
    #[inline]
    fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.take_array()
    }
}

impl Serializable for bool {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        let id = if *self { BOOL_TRUE } else { BOOL_FALSE };
        out.extend_from_slice(&id.to_le_bytes());
    }
}

impl Deserializable for bool {
    fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.read_u32()? {
            BOOL_TRUE => Ok(true),
            BOOL_FALSE => Ok(false),
            id => Err(r.unknown("Bool", id)),
        }
    }
}

/// Appends `data` as TL `bytes`: a 1-byte length (up to 253) or `0xfe` and a 3-byte length,
/// the data, and zero padding to a multiple of 4.
///
/// # Panics
///
/// When `data` is 16 MiB or longer, which TL cannot express (the server takes far less).
#[inline]
pub fn write_bytes(out: &mut Vec<u8>, data: &[u8]) {
    let len = data.len();
    // One reservation for the header, the data and the widest padding, so the writes below
    // never grow the buffer again.
    out.reserve(len + 8);
    let header = if len <= 253 {
        out.push(len as u8); // len <= 253 fits a byte
        1
    } else {
        assert!(len < 1 << 24, "tl bytes of {len} bytes exceed 16 MiB");
        // 0xfe, then the length in three little-endian bytes (len < 2^24).
        out.extend_from_slice(&((len as u32) << 8 | 0xfe).to_le_bytes());
        4
    };
    out.extend_from_slice(data);
    // Zero padding to a multiple of 4: four zero bytes written at once, the extra cut off (a
    // fixed-size store instead of a call for a variable-length one).
    let end = out.len() + (4 - (header + len) % 4) % 4;
    out.extend_from_slice(&[0; 4]);
    out.truncate(end);
}

fn read_bytes<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], DecodeError> {
    let start = r.position();
    let first = r.take(1)?[0]; // `take(1)` returned exactly one byte
    let (header, len) = match first {
        0..=253 => (1, usize::from(first)),
        254 => {
            let b = r.take(3)?;
            (
                4,
                usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16,
            )
        }
        255 => {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidLength { prefix: first },
                start,
            ))
        }
    };
    let data = r.take(len)?;
    let padding = (4 - (header + len) % 4) % 4;
    r.take(padding)?;
    Ok(data)
}

impl Serializable for String {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        write_bytes(out, self.as_bytes());
    }
}

impl Deserializable for String {
    fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.position();
        let data = read_bytes(r)?;
        match std::str::from_utf8(data) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(DecodeError::new(DecodeErrorKind::InvalidUtf8, start)),
        }
    }
}

impl Serializable for Vec<u8> {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        write_bytes(out, self);
    }
}

impl Deserializable for Vec<u8> {
    fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_bytes(r).map(<[u8]>::to_vec)
    }
}

/// `Vector t`: the `vector` id, a count, and the items (boxed or bare as `t` is).
impl<T: Serializable> Serializable for Vec<T> {
    fn serialize(&self, out: &mut Vec<u8>) {
        write_vector_header(out, self.len());
        for item in self {
            item.serialize(out);
        }
    }
}

impl<T: Deserializable> Deserializable for Vec<T> {
    fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.expect_id(VECTOR_ID, "Vector")?;
        r.read_items(T::deserialize)
    }
}

/// Appends a vector's item count.
///
/// # Panics
///
/// When there are more than `i32::MAX` items, which TL cannot express.
pub fn write_count(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&count_bytes(len));
}

/// A vector's item count as written (panics above `i32::MAX`, see [`write_count`]).
#[inline]
fn count_bytes(len: usize) -> [u8; 4] {
    let count = i32::try_from(len).expect("a tl vector holds at most i32::MAX items");
    count.to_le_bytes()
}

/// Appends the `vector` id and an item count, as one 8-byte write.
///
/// # Panics
///
/// When there are more than `i32::MAX` items, which TL cannot express.
#[inline]
pub fn write_vector_header(out: &mut Vec<u8>, len: usize) {
    let mut head = [0; 8];
    head[..4].copy_from_slice(&VECTOR_ID.to_le_bytes());
    head[4..].copy_from_slice(&count_bytes(len));
    out.extend_from_slice(&head);
}

/// Appends a vector whose items are written by `item`: with the `vector` id when `boxed`
/// (`Vector<T>`), or only the count and items (bare `vector<T>`). Used for bare items (`%T`).
pub fn write_vec_with<T>(
    out: &mut Vec<u8>,
    items: &[T],
    boxed: bool,
    item: impl Fn(&T, &mut Vec<u8>),
) {
    if boxed {
        write_vector_header(out, items.len());
    } else {
        write_count(out, items.len());
    }
    for value in items {
        item(value, out);
    }
}

/// An optional field writes its value when present and nothing when absent: its presence
/// travels in the constructor's flags word.
impl<T: Serializable> Serializable for Option<T> {
    #[inline]
    fn serialize(&self, out: &mut Vec<u8>) {
        if let Some(value) = self {
            value.serialize(out);
        }
    }
}

/// A TL `Object`: any boxed value, kept as its serialized bytes. When read, it takes the rest of
/// the input (as in `rpc_result`, whose `result` ends the message).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object(pub Vec<u8>);

impl Serializable for Object {
    fn serialize(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Deserializable for Object {
    fn deserialize(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Object(r.take_rest().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    // Expected bytes from shared/vectors/tl-crc32-and-serialization.txt, section D.
    #[test]
    fn primitives_match_the_published_examples() {
        assert_eq!(hex(&1i32.to_bytes()), "01000000");
        assert_eq!(hex(&(-1i32).to_bytes()), "FFFFFFFF");
        assert_eq!(hex(&0x0123456789ABCDEFi64.to_bytes()), "EFCDAB8967452301");
        assert_eq!(hex(&1.0f64.to_bytes()), "000000000000F03F");
        assert_eq!(hex(&String::new().to_bytes()), "00000000");
        assert_eq!(hex(&"a".to_string().to_bytes()), "01610000");
        assert_eq!(hex(&"abc".to_string().to_bytes()), "03616263");
        assert_eq!(hex(&"abcd".to_string().to_bytes()), "0461626364000000");
        assert_eq!(hex(&vec![0u8; 253].to_bytes()[..4]), "FD000000");
        assert_eq!(hex(&vec![0u8; 254].to_bytes()[..4]), "FEFE0000");
        assert_eq!(hex(&vec![0u8; 256].to_bytes()[..4]), "FE000100");
        assert_eq!(hex(&true.to_bytes()), "B5757299");
        assert_eq!(hex(&false.to_bytes()), "379779BC");
        assert_eq!(
            hex(&vec![1i64, 2].to_bytes()),
            "15C4B51C0200000001000000000000000200000000000000"
        );
        assert_eq!(hex(&Vec::<i32>::new().to_bytes()), "15C4B51C00000000");
        let mut head = vec![];
        write_vector_header(&mut head, 3);
        assert_eq!(hex(&head), "15C4B51C03000000");
    }

    #[test]
    fn bytes_round_trip_at_every_length_boundary() {
        for len in [0, 1, 3, 4, 252, 253, 254, 255, 256, 1000, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let bytes = data.to_bytes();
            assert_eq!(bytes.len() % 4, 0);
            assert_eq!(Vec::<u8>::from_bytes(&bytes).unwrap(), data);
        }
    }

    #[test]
    fn a_huge_vector_count_is_refused_before_allocating() {
        let mut bytes = VECTOR_ID.to_le_bytes().to_vec();
        bytes.extend_from_slice(&i32::MAX.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        let err = Vec::<i64>::from_bytes(&bytes).unwrap_err();
        assert!(matches!(err.kind(), DecodeErrorKind::TooManyItems { .. }));
        assert_eq!(err.offset(), 4);
        let mut negative = VECTOR_ID.to_le_bytes().to_vec();
        negative.extend_from_slice(&(-1i32).to_le_bytes());
        assert!(Vec::<i64>::from_bytes(&negative).is_err());
    }

    #[test]
    fn invalid_utf8_and_bad_prefixes_are_typed_errors() {
        let err = String::from_bytes(&[2, 0xff, 0xfe, 0]).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::InvalidUtf8);
        let err = String::from_bytes(&[0xff, 0, 0, 0]).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::InvalidLength { prefix: 0xff });
        let err = bool::from_bytes(&[1, 2, 3, 4]).unwrap_err();
        assert!(err.to_string().contains("for type Bool"), "{err}");
    }

    #[test]
    fn errors_name_the_path_and_offset() {
        let err = Vec::<i64>::from_bytes(&[0x15, 0xc4, 0xb5, 0x1c, 1, 0, 0, 0, 1, 2, 3, 4])
            .unwrap_err()
            .within("msgs_ack.msg_ids");
        assert_eq!(
            err.to_string(),
            "unexpected end of input: needed 8 bytes, 4 left at byte 8 in msgs_ack.msg_ids"
        );
    }

    proptest::proptest! {
        #[test]
        fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = Vec::<String>::from_bytes(&bytes);
            let _ = Vec::<Vec<u8>>::from_bytes(&bytes);
            let _ = Vec::<bool>::from_bytes(&bytes);
            let _ = <[u8; 16]>::from_bytes(&bytes);
        }
    }
}
