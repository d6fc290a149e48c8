//! Minimal PEM, base64 and DER reading for RSA public keys (PKCS#1 `RSAPublicKey`, optionally inside SubjectPublicKeyInfo).

use super::CryptoError;

/// Which armour a PEM block had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PemKind {
    /// `-----BEGIN RSA PUBLIC KEY-----`: PKCS#1 `RSAPublicKey`.
    Pkcs1,
    /// `-----BEGIN PUBLIC KEY-----`: X.509 `SubjectPublicKeyInfo` around an `RSAPublicKey`.
    Spki,
}

const ARMOURS: [(PemKind, &str, &str); 2] = [
    (
        PemKind::Pkcs1,
        "-----BEGIN RSA PUBLIC KEY-----",
        "-----END RSA PUBLIC KEY-----",
    ),
    (
        PemKind::Spki,
        "-----BEGIN PUBLIC KEY-----",
        "-----END PUBLIC KEY-----",
    ),
];

/// The DER bytes of the first RSA public key PEM block in `text`, and its kind. Text around the
/// block is ignored.
pub(crate) fn decode_pem(text: &str) -> Result<(PemKind, Vec<u8>), CryptoError> {
    let (kind, start, begin, end) = ARMOURS
        .iter()
        .filter_map(|&(kind, begin, end)| text.find(begin).map(|at| (kind, at, begin, end)))
        .min_by_key(|&(_, at, _, _)| at)
        .ok_or(CryptoError::InvalidPem {
            reason: "expected a \"-----BEGIN RSA PUBLIC KEY-----\" or \"-----BEGIN PUBLIC KEY-----\" line, found none",
        })?;
    let body_start = start + begin.len();
    let rest = text.get(body_start..).unwrap_or("");
    let body_len = rest.find(end).ok_or(CryptoError::InvalidPem {
        reason: "expected the matching end line, found none",
    })?;
    let body = rest.get(..body_len).unwrap_or("");
    Ok((kind, decode_base64(body)?))
}

/// Standard base64 (RFC 4648 alphabet, `=` padding) with whitespace ignored.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = 0usize;
    let mut symbols = 0usize;
    for (offset, byte) in text.bytes().enumerate() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                symbols += 1;
                if padding > 2 {
                    return Err(CryptoError::InvalidBase64 { offset });
                }
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return Err(CryptoError::InvalidBase64 { offset }),
        };
        if padding > 0 {
            // Data after padding.
            return Err(CryptoError::InvalidBase64 { offset });
        }
        symbols += 1;
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8); // masked to 8 bits
        }
    }
    if !symbols.is_multiple_of(4) {
        return Err(CryptoError::InvalidBase64 { offset: text.len() });
    }
    Ok(out)
}

/// A forward-only DER reader over definite-length encodings.
pub(crate) struct Der<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// DER tag of INTEGER.
pub(crate) const TAG_INTEGER: u8 = 0x02;
/// DER tag of BIT STRING.
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
/// DER tag of NULL.
pub(crate) const TAG_NULL: u8 = 0x05;
/// DER tag of OBJECT IDENTIFIER.
pub(crate) const TAG_OID: u8 = 0x06;
/// DER tag of a constructed SEQUENCE.
pub(crate) const TAG_SEQUENCE: u8 = 0x30;

impl<'a> Der<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn error(&self, expected: &'static str) -> CryptoError {
        CryptoError::InvalidDer {
            offset: self.pos,
            expected,
        }
    }

    fn byte(&mut self, expected: &'static str) -> Result<u8, CryptoError> {
        let byte = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error(expected))?;
        self.pos += 1;
        Ok(byte)
    }

    /// Reads one element with tag `tag` and returns its contents, with their offset.
    pub(crate) fn element(
        &mut self,
        tag: u8,
        expected: &'static str,
    ) -> Result<(usize, &'a [u8]), CryptoError> {
        if self.byte(expected)? != tag {
            self.pos -= 1;
            return Err(self.error(expected));
        }
        let first = self.byte("a length")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                self.pos -= 1;
                return Err(self.error("a definite length of at most 4 bytes"));
            }
            let mut len = 0usize;
            for _ in 0..count {
                len = (len << 8) | usize::from(self.byte("a length byte")?);
            }
            len
        };
        let start = self.pos;
        let contents = start
            .checked_add(len)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or_else(|| self.error("contents as long as the length says"))?;
        self.pos = start + len;
        Ok((start, contents))
    }

    /// Reads a non-negative INTEGER and returns its big-endian magnitude without leading zeros.
    pub(crate) fn unsigned_integer(
        &mut self,
        expected: &'static str,
    ) -> Result<&'a [u8], CryptoError> {
        let (at, contents) = self.element(TAG_INTEGER, expected)?;
        match contents.first() {
            None => Err(CryptoError::InvalidDer {
                offset: at,
                expected: "a non-empty integer",
            }),
            Some(&top) if top & 0x80 != 0 => Err(CryptoError::InvalidDer {
                offset: at,
                expected: "a non-negative integer",
            }),
            Some(_) => {
                let zeros = contents.iter().take_while(|&&b| b == 0).count();
                Ok(contents.get(zeros..).unwrap_or(&[]))
            }
        }
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(&self) -> Result<(), CryptoError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(self.error("the end of the key"))
        }
    }

    /// Offset of the next byte, relative to this reader's bytes.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

/// `n` and `e` (big-endian, no leading zeros) from PKCS#1
/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
pub(crate) fn parse_rsa_public_key(der: &[u8]) -> Result<(&[u8], &[u8]), CryptoError> {
    let mut outer = Der::new(der);
    let (at, body) = outer.element(TAG_SEQUENCE, "an RSAPublicKey sequence")?;
    outer.finish()?;
    let mut seq = Der::new(body);
    let n = seq
        .unsigned_integer("the modulus integer")
        .map_err(|e| shift(e, at))?;
    let e = seq
        .unsigned_integer("the exponent integer")
        .map_err(|e| shift(e, at))?;
    seq.finish().map_err(|e| shift(e, at))?;
    Ok((n, e))
}

/// The `RSAPublicKey` DER inside a SubjectPublicKeyInfo, after checking the algorithm is
/// rsaEncryption (OID 1.2.840.113549.1.1.1).
pub(crate) fn unwrap_spki(der: &[u8]) -> Result<&[u8], CryptoError> {
    const RSA_ENCRYPTION: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let mut outer = Der::new(der);
    let (at, body) = outer.element(TAG_SEQUENCE, "a SubjectPublicKeyInfo sequence")?;
    outer.finish()?;
    let mut spki = Der::new(body);
    let (alg_at, alg) = spki
        .element(TAG_SEQUENCE, "an AlgorithmIdentifier sequence")
        .map_err(|e| shift(e, at))?;
    let mut alg_reader = Der::new(alg);
    let (oid_at, oid) = alg_reader
        .element(TAG_OID, "the algorithm oid")
        .map_err(|e| shift(e, at + alg_at))?;
    if oid != RSA_ENCRYPTION {
        return Err(CryptoError::InvalidDer {
            offset: at + alg_at + oid_at,
            expected: "the rsaEncryption oid 1.2.840.113549.1.1.1",
        });
    }
    if alg_reader.position() < alg.len() {
        alg_reader
            .element(TAG_NULL, "null parameters")
            .map_err(|e| shift(e, at + alg_at))?;
    }
    alg_reader.finish().map_err(|e| shift(e, at + alg_at))?;
    let (bits_at, bits) = spki
        .element(TAG_BIT_STRING, "the subjectPublicKey bit string")
        .map_err(|e| shift(e, at))?;
    spki.finish().map_err(|e| shift(e, at))?;
    match bits.split_first() {
        Some((0, key)) => Ok(key),
        _ => Err(CryptoError::InvalidDer {
            offset: at + bits_at,
            expected: "a bit string with no unused bits",
        }),
    }
}

/// Makes an offset inside nested contents relative to the outer bytes.
fn shift(err: CryptoError, by: usize) -> CryptoError {
    match err {
        CryptoError::InvalidDer { offset, expected } => CryptoError::InvalidDer {
            offset: offset.saturating_add(by),
            expected,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_with_and_without_padding() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v\r\n YmFy").unwrap(), b"foobar");
        assert_eq!(
            decode_base64("Zm9").unwrap_err(),
            CryptoError::InvalidBase64 { offset: 3 }
        );
        assert_eq!(
            decode_base64("Zm9v!").unwrap_err(),
            CryptoError::InvalidBase64 { offset: 4 }
        );
        assert_eq!(
            decode_base64("Zg==Zg==").unwrap_err(),
            CryptoError::InvalidBase64 { offset: 4 }
        );
        assert_eq!(
            decode_base64("Z===").unwrap_err(),
            CryptoError::InvalidBase64 { offset: 3 }
        );
    }

    #[test]
    fn reads_a_small_rsa_public_key() {
        // SEQUENCE { INTEGER 0x00C1 (leading zero for the sign), INTEGER 3 }
        let der = [0x30, 0x07, 0x02, 0x02, 0x00, 0xc1, 0x02, 0x01, 0x03];
        assert_eq!(parse_rsa_public_key(&der).unwrap(), (&[0xc1][..], &[3][..]));
    }

    #[test]
    fn reports_where_the_der_breaks() {
        let err = |der: &[u8]| match parse_rsa_public_key(der) {
            Err(CryptoError::InvalidDer { offset, expected }) => (offset, expected),
            other => panic!("{other:?}"),
        };
        assert_eq!(err(&[]), (0, "an RSAPublicKey sequence"));
        assert_eq!(err(&[0x31, 0x00]), (0, "an RSAPublicKey sequence"));
        assert_eq!(
            err(&[0x30, 0x05, 0x02]),
            (2, "contents as long as the length says")
        );
        assert_eq!(
            err(&[0x30, 0x80]),
            (1, "a definite length of at most 4 bytes")
        );
        assert_eq!(
            err(&[0x30, 0x85, 1, 1, 1, 1, 1]),
            (1, "a definite length of at most 4 bytes")
        );
        assert_eq!(
            err(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            (6, "contents as long as the length says")
        );
        assert_eq!(
            err(&[0x30, 0x03, 0x02, 0x01, 0x81]),
            (4, "a non-negative integer")
        );
        assert_eq!(err(&[0x30, 0x02, 0x02, 0x00]), (4, "a non-empty integer"));
        assert_eq!(
            err(&[0x30, 0x03, 0x02, 0x01, 0x05]),
            (5, "the exponent integer")
        );
        assert_eq!(
            err(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03, 0x00]),
            (8, "the end of the key")
        );
    }

    #[test]
    fn finds_the_armour_and_rejects_unknown_ones() {
        let (kind, der) = decode_pem(
            "junk\n-----BEGIN RSA PUBLIC KEY-----\nMAcCAgDBAgED\n-----END RSA PUBLIC KEY-----\n",
        )
        .unwrap();
        assert_eq!((kind, der.len()), (PemKind::Pkcs1, 9));
        assert!(matches!(
            decode_pem("-----BEGIN CERTIFICATE-----\n"),
            Err(CryptoError::InvalidPem { .. })
        ));
        assert!(matches!(
            decode_pem("-----BEGIN PUBLIC KEY-----\nMAcCAgDBAgED\n"),
            Err(CryptoError::InvalidPem { .. })
        ));
    }
}
