//! Constructor ids computed from a definition: CRC32 of its normalized TL line.
//!
//! Rules (core.telegram.org/mtproto/serialize, and the normalisation that reproduces Telegram's
//! own ids, documented in shared/vectors/tl-crc32-and-serialization.txt): drop the id and the `;`,
//! drop `flags.N?true` fields, a whole field type `bytes` becomes `string`, `<` becomes a space and
//! `>`, `{`, `}` and `%` go, single spaces between lexemes.

use crate::parse::{AstArg, AstArgType, AstDefinition, AstType};

/// Definitions whose published id does not follow the CRC32 rule: hand-assigned or legacy
/// pseudo-constructors (shared/vectors/tl-crc32-and-serialization.txt, section B), `gzip_packed`
/// where a schema writes `= GzipPacked` instead of `= Object`, and the secret-chat
/// `decryptedMessageMediaDocument`, whose `size` became `long` while it kept its old id.
pub const LEGACY_IDS: &[&str] = &[
    "accessPointRule",
    "decryptedMessageMediaDocument",
    "gzip_packed",
    "help.configSimple",
    "inputPeerPhotoFileLocationLegacy",
    "inputStickerSetThumbLegacy",
    "invokeWithApnsSecretPrefix",
    "invokeWithBusinessConnectionPrefix",
    "invokeWithGooglePlayIntegrityPrefix",
    "invokeWithReCaptchaPrefix",
    "ipPortSecret",
];

/// Whether `name` is a known exception to the CRC32 rule (see [`LEGACY_IDS`]).
pub fn is_legacy(name: &str) -> bool {
    LEGACY_IDS.contains(&name)
}

/// Whether `explicit` follows the CRC32 rule for `def`, whose [`computed_id`] is `computed`. Old
/// versions of a constructor kept side by side carry their layer in their name
/// (`decryptedMessage46`) and keep the id computed from the line without that suffix, so that
/// spelling is accepted too.
pub fn follows_rule(def: &AstDefinition, explicit: u32, computed: u32) -> bool {
    if computed == explicit {
        return true;
    }
    let base = def.name.trim_end_matches(|c: char| c.is_ascii_digit());
    if base.len() == def.name.len() || base.ends_with('.') {
        return false;
    }
    let line = normalized_line(def);
    let unsuffixed = format!("{base}{}", &line[def.name.len()..]);
    crc32fast::hash(unsuffixed.as_bytes()) == explicit
}

/// The normalized line whose CRC32 is the id.
pub fn normalized_line(def: &AstDefinition) -> String {
    let mut parts: Vec<String> = vec![def.name.clone()];
    for g in &def.generics {
        parts.push(format!("{}:{}", g.name, type_text(&g.ty)));
    }
    for arg in &def.args {
        if let Some(text) = arg_text(arg) {
            parts.push(text);
        }
    }
    parts.push("=".into());
    parts.push(def.result.name.clone());
    parts.extend(def.result.params.iter().map(type_text));
    parts.extend(def.result.args.iter().cloned());
    parts.join(" ")
}

/// CRC32 (IEEE) of the normalized line.
pub fn computed_id(def: &AstDefinition) -> u32 {
    crc32fast::hash(normalized_line(def).as_bytes())
}

fn arg_text(arg: &AstArg) -> Option<String> {
    let ty = match &arg.ty {
        AstArgType::Type(t) => {
            if arg.condition.is_some() && t.name == "true" {
                return None;
            }
            if t.name == "bytes" && t.params.is_empty() {
                "string".to_string()
            } else {
                type_text(t)
            }
        }
        AstArgType::Unknown => "?".to_string(),
        AstArgType::Repeat { count, args } => {
            let inner: Vec<String> = args.iter().filter_map(arg_text).collect();
            let body = format!("[ {} ]", inner.join(" "));
            match count {
                Some(n) => format!("{n}*{body}"),
                None => body,
            }
        }
    };
    let cond = arg
        .condition
        .as_ref()
        .map(|c| format!("{}.{}?", c.flags, c.bit))
        .unwrap_or_default();
    Some(match &arg.name {
        Some(name) => format!("{name}:{cond}{ty}"),
        None => ty,
    })
}

fn type_text(t: &AstType) -> String {
    let mut s = String::new();
    if t.bang {
        s.push('!');
    }
    s.push_str(&t.name);
    for p in &t.params {
        s.push(' ');
        s.push_str(&type_text(p));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceMap;

    fn id_of(line: &str) -> u32 {
        let map = SourceMap::new("t.tl", line);
        let (schema, d) = crate::parse::parse(&map, line);
        assert!(d.is_empty(), "{d:?}");
        computed_id(&schema.definitions[0])
    }

    // Published examples: core.telegram.org/mtproto/serialize and the schemas' own ids,
    // collected in shared/vectors/tl-crc32-and-serialization.txt (section A).
    #[test]
    fn reproduces_published_ids() {
        assert_eq!(id_of("vector {t:Type} # [ t ] = Vector t;"), 0x1cb5c415);
        assert_eq!(id_of("int ? = Int;"), 0xa8509bda);
        assert_eq!(id_of("true = True;"), 0x3fedd339);
        assert_eq!(
            id_of("resPQ nonce:int128 server_nonce:int128 pq:bytes server_public_key_fingerprints:Vector<long> = ResPQ;"),
            0x05162463
        );
        assert_eq!(
            id_of("msg_container messages:vector<%message> = MessageContainer;"),
            0x73f1f8dc
        );
        assert_eq!(
            id_of("invokeWithLayer {X:Type} layer:int query:!X = X;"),
            0xda9b0d0d
        );
        assert_eq!(
            id_of("inputMediaUploadedPhoto#7d8375da flags:# spoiler:flags.2?true live_photo:flags.3?true file:InputFile stickers:flags.0?Vector<InputDocument> ttl_seconds:flags.1?int video:flags.3?InputDocument = InputMedia;"),
            0x7d8375da
        );
        assert_eq!(
            id_of("tls.schema_v2 version:int date:int types_num:# types:types_num*[ tls.Type ] constructor_num:# constructors:constructor_num*[ tls.Combinator ] functions_num:# functions:functions_num*[ tls.Combinator ] = tls.Schema;"),
            0x3a2f9be2
        );
    }
}
