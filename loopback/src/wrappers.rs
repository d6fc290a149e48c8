//! Finding the method inside a request's wrappers (`invokeWithLayer(initConnection(...))` and
//! the other `invoke*` prefixes), without the api.tl types: a few fixed layouts, read with
//! bounds checks. Used for fault injection (flood waits by method) and statistics.

/// `invokeWithLayer#da9b0d0d layer:int query:!X`.
const INVOKE_WITH_LAYER: u32 = 0xda9b_0d0d;
/// `initConnection#c1cd5ea9 flags:# api_id:int device_model:string system_version:string
/// app_version:string system_lang_code:string lang_pack:string lang_code:string
/// proxy:flags.0?InputClientProxy params:flags.1?JSONValue query:!X`.
const INIT_CONNECTION: u32 = 0xc1cd_5ea9;
/// `invokeAfterMsg#cb9f372d msg_id:long query:!X`.
const INVOKE_AFTER_MSG: u32 = 0xcb9f_372d;
/// `invokeAfterMsgs#3dc4b4f0 msg_ids:Vector<long> query:!X`.
const INVOKE_AFTER_MSGS: u32 = 0x3dc4_b4f0;
/// `invokeWithoutUpdates#bf9459b7 query:!X`.
const INVOKE_WITHOUT_UPDATES: u32 = 0xbf94_59b7;
/// `invokeWithTakeout#aca9fd2e takeout_id:long query:!X`.
const INVOKE_WITH_TAKEOUT: u32 = 0xaca9_fd2e;
/// `invokeWithMessagesRange#365275f2 range:MessageRange query:!X` (messageRange: two ints).
const INVOKE_WITH_MESSAGES_RANGE: u32 = 0x3652_75f2;
/// `invokeWithBusinessConnection#dd289f8e connection_id:string query:!X`.
const INVOKE_WITH_BUSINESS_CONNECTION: u32 = 0xdd28_9f8e;
/// `invokeWithGooglePlayIntegrity#1df92984 nonce:string token:string query:!X`.
const INVOKE_WITH_GOOGLE_PLAY_INTEGRITY: u32 = 0x1df9_2984;
/// `invokeWithApnsSecret#0dae54f8 nonce:string secret:string query:!X`.
const INVOKE_WITH_APNS_SECRET: u32 = 0x0dae_54f8;
/// `invokeWithReCaptcha#adbb0f94 token:string query:!X`.
const INVOKE_WITH_RECAPTCHA: u32 = 0xadbb_0f94;

const VECTOR: u32 = 0x1cb5_c415;
const INPUT_CLIENT_PROXY: u32 = 0x7558_8b3f;
const JSON_NULL: u32 = 0x3f6d_7b68;
const JSON_BOOL: u32 = 0xc734_5e6a;
const JSON_NUMBER: u32 = 0x2be0_dfa4;
const JSON_STRING: u32 = 0xb71e_767a;
const JSON_ARRAY: u32 = 0xf744_4763;
const JSON_OBJECT: u32 = 0x99c1_d49d;
const JSON_OBJECT_VALUE: u32 = 0xc0de_1bd9;

/// How many wrappers deep a request is followed, and how deep a JSONValue is skipped.
const MAX_DEPTH: u32 = 16;

/// The innermost query of `body` and its constructor id: `body` itself when it is not a known
/// wrapper, or when a wrapper does not parse (then the outer constructor is reported).
pub fn innermost(body: &[u8]) -> (u32, &[u8]) {
    let mut current = body;
    for _ in 0..MAX_DEPTH {
        match unwrap_once(current) {
            Some(inner) => current = inner,
            None => break,
        }
    }
    (constructor(current).unwrap_or(0), current)
}

/// The constructor id a body starts with.
pub fn constructor(body: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(body.get(..4)?.try_into().ok()?))
}

/// The query inside one wrapper, or `None` when `body` is no wrapper (or a broken one).
fn unwrap_once(body: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor { bytes: body };
    match c.u32()? {
        INVOKE_WITH_LAYER => c.skip(4)?,
        INVOKE_AFTER_MSG | INVOKE_WITH_TAKEOUT | INVOKE_WITH_MESSAGES_RANGE => c.skip(8)?,
        INVOKE_AFTER_MSGS => {
            if c.u32()? != VECTOR {
                return None;
            }
            let count = usize::try_from(c.u32()?).ok()?;
            c.skip(count.checked_mul(8)?)?;
        }
        INVOKE_WITHOUT_UPDATES => {}
        INVOKE_WITH_BUSINESS_CONNECTION | INVOKE_WITH_RECAPTCHA => c.string()?,
        INVOKE_WITH_GOOGLE_PLAY_INTEGRITY | INVOKE_WITH_APNS_SECRET => {
            c.string()?;
            c.string()?;
        }
        INIT_CONNECTION => {
            let flags = c.u32()?;
            c.skip(4)?; // api_id
            for _ in 0..6 {
                c.string()?;
            }
            if flags & 1 != 0 {
                if c.u32()? != INPUT_CLIENT_PROXY {
                    return None;
                }
                c.string()?;
                c.skip(4)?;
            }
            if flags & 2 != 0 {
                c.json(0)?;
            }
        }
        _ => return None,
    }
    (c.bytes.len() >= 4).then_some(c.bytes)
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl Cursor<'_> {
    fn skip(&mut self, n: usize) -> Option<()> {
        self.bytes = self.bytes.get(n..)?;
        Some(())
    }

    fn u32(&mut self) -> Option<u32> {
        let v = constructor(self.bytes)?;
        self.skip(4)?;
        Some(v)
    }

    /// A TL string or bytes: a 1-byte length below 254, or 254 and a 3-byte length; padded to 4.
    fn string(&mut self) -> Option<()> {
        let first = *self.bytes.first()?;
        let (header, len) = if first < 254 {
            (1, usize::from(first))
        } else {
            let b = self.bytes.get(1..4)?;
            (
                4,
                usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16,
            )
        };
        let total = (header + len).div_ceil(4) * 4;
        self.skip(total)
    }

    /// Skips one boxed JSONValue.
    fn json(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.u32()? {
            JSON_NULL => Some(()),
            JSON_BOOL => self.skip(4),
            JSON_NUMBER => self.skip(8),
            JSON_STRING => self.string(),
            JSON_ARRAY => {
                if self.u32()? != VECTOR {
                    return None;
                }
                // Each element takes at least 4 bytes, so the loop is bounded by the input.
                for _ in 0..self.u32()? {
                    self.json(depth + 1)?;
                }
                Some(())
            }
            JSON_OBJECT => {
                if self.u32()? != VECTOR {
                    return None;
                }
                for _ in 0..self.u32()? {
                    if self.u32()? != JSON_OBJECT_VALUE {
                        return None;
                    }
                    self.string()?;
                    self.json(depth + 1)?;
                }
                Some(())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str, out: &mut Vec<u8>) {
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    #[test]
    fn finds_the_method_inside_layer_and_init_connection() {
        let method = [0x11, 0x22, 0x33, 0x44, 1, 0, 0, 0];
        let mut init = INIT_CONNECTION.to_le_bytes().to_vec();
        init.extend_from_slice(&3u32.to_le_bytes()); // proxy and params
        init.extend_from_slice(&4u32.to_le_bytes());
        for s in ["device", "system", "1.0", "en", "", "en"] {
            string(s, &mut init);
        }
        init.extend_from_slice(&INPUT_CLIENT_PROXY.to_le_bytes());
        string("proxy.example", &mut init);
        init.extend_from_slice(&443u32.to_le_bytes());
        init.extend_from_slice(&JSON_OBJECT.to_le_bytes());
        init.extend_from_slice(&VECTOR.to_le_bytes());
        init.extend_from_slice(&1u32.to_le_bytes());
        init.extend_from_slice(&JSON_OBJECT_VALUE.to_le_bytes());
        string("tz", &mut init);
        init.extend_from_slice(&JSON_NULL.to_le_bytes());
        init.extend_from_slice(&method);
        let mut body = INVOKE_WITH_LAYER.to_le_bytes().to_vec();
        body.extend_from_slice(&200u32.to_le_bytes());
        body.extend_from_slice(&init);
        assert_eq!(innermost(&body), (0x4433_2211, &method[..]));
    }

    #[test]
    fn broken_wrappers_stop_the_search_without_panicking() {
        let mut body = INVOKE_AFTER_MSGS.to_le_bytes().to_vec();
        body.extend_from_slice(&VECTOR.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(innermost(&body).0, INVOKE_AFTER_MSGS);
        assert_eq!(innermost(&[]).0, 0);
        // Wrappers nested past the depth limit end at the limit.
        let nested: Vec<u8> = std::iter::repeat_n(INVOKE_WITHOUT_UPDATES.to_le_bytes(), 40)
            .flatten()
            .collect();
        assert_eq!(innermost(&nested).0, INVOKE_WITHOUT_UPDATES);
    }
}
