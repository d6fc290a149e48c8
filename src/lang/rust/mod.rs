//! Rust naming rules: identifiers, keywords, type spellings and module paths for the Rust templates.

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::ir::{Name, Ty};
use crate::shapes::all_boxed;

mod format;
mod naming;

pub use format::format;

pub(crate) use naming::{doc_text, Naming, PRELUDE};

/// Words that cannot be Rust identifiers as they are.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self",
    "Self", "static", "struct", "super", "trait", "true", "try", "type", "typeof", "union",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers either (`r#self` is not allowed).
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super"];

/// Makes `word` usable as an identifier: `type` → `r#type`, `self` → `self_`.
pub fn escape(word: &str) -> String {
    if NOT_RAW.contains(&word) {
        format!("{word}_")
    } else if KEYWORDS.contains(&word) {
        format!("r#{word}")
    } else if word.starts_with(|c: char| c.is_ascii_digit()) || word.is_empty() {
        format!("_{word}")
    } else {
        word.to_string()
    }
}

/// A field or module name: snake case, escaped.
pub fn snake(word: &str) -> String {
    escape(&word.to_snake_case())
}

/// A struct, enum or variant name: upper camel case, escaped.
pub fn camel(word: &str) -> String {
    escape(&word.to_upper_camel_case())
}

/// What is left of `name` (UpperCamelCase) once the whole words it shares at its start with
/// `other` are removed: `InputPrivacyValueAllowAll` and `InputPrivacyRule` leave
/// `ValueAllowAll`, `InputPeerEmpty` and `InputPeer` leave `Empty`, `User` and `User` leave
/// nothing. The enum variant of a constructor is named so: the rule looks at the two names
/// alone, so a variant's name does not change when its enum gains or loses constructors.
pub fn strip_shared_words<'a>(name: &'a str, other: &str) -> &'a str {
    let mut at = 0;
    let (mut a, mut b) = (words(name), words(other));
    while let (Some(x), Some(y)) = (a.next(), b.next()) {
        if x != y {
            break;
        }
        at += x.len();
    }
    &name[at..]
}

/// The words of an UpperCamelCase name: each starts at an uppercase letter (`InputPeer2` gives
/// `Input`, `Peer2`).
fn words(name: &str) -> impl Iterator<Item = &str> {
    let mut rest = name;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .char_indices()
            .skip(1)
            .find(|(_, c)| c.is_ascii_uppercase())
            .map_or(rest.len(), |(i, _)| i);
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

/// A field's type and its item codec when the field holds its value behind a pointer.
pub fn boxed(ty: &str, item: &str) -> (String, String) {
    (format!("Box<{ty}>"), format!("{WIRE_ALIAS}::Heap<{item}>"))
}

/// The codec of a field in its struct's `Wire` tuple. `kind` is the view's field kind (`flags`,
/// `implied`, `flag`, `optional`, `required`), `item` the codec of the value. Bits and words
/// are numbers as types (`tlw::N3`); flags word 0 is the default of the codecs' word parameter.
pub fn field_codec(kind: &str, item: String, bit: u32, word: u32) -> String {
    let (bit, word) = (nat(bit), nat(word));
    let first = word == nat(0);
    match kind {
        "flags" if first => format!("{WIRE_ALIAS}::Flags"),
        "flags" => format!("{WIRE_ALIAS}::Flags<{word}>"),
        "implied" => format!("{WIRE_ALIAS}::Implied"),
        "flag" if first => format!("{WIRE_ALIAS}::Bit<{bit}>"),
        "flag" => format!("{WIRE_ALIAS}::Bit<{bit}, {word}>"),
        "optional" if first => format!("{WIRE_ALIAS}::Opt<{item}, {bit}>"),
        "optional" => format!("{WIRE_ALIAS}::Opt<{item}, {bit}, {word}>"),
        _ => item,
    }
}

/// The conversions of a struct's `Fields` impl, from its fields in wire order (name, and whether
/// the struct stores it; flags words and implied bits are not stored): the pattern `from_wire`
/// takes the decoded values apart with, the struct's initializer, and the tuple of references
/// `to_wire` lends.
pub fn conversions(fields: &[(&str, bool)]) -> (String, String, String) {
    let pattern: Vec<String> = (fields.iter())
        .map(|&(name, stored)| if stored { name.to_string() } else { "_".into() })
        .collect();
    let refs: Vec<String> = (fields.iter())
        .map(|&(name, stored)| {
            if stored {
                format!("&self.{name}")
            } else {
                "&()".to_string()
            }
        })
        .collect();
    let init = (fields.iter().filter(|f| f.1))
        .map(|(name, _)| format!("{name}, "))
        .collect();
    (record_pattern(&pattern), init, tuple(&refs))
}

/// The version of the runtime's interface for generated code (`tl::wire`) that this generator
/// writes code for; the runtime's `tl::wire::API_VERSION` must equal it, and the generated crate
/// root checks so at compile time.
pub const RUNTIME_API: u32 = 1;

/// The alias every generated module imports the runtime's `tl::wire` under.
pub const WIRE_ALIAS: &str = "tlw";

/// The module path of a namespace (`e2e.chain` → `e2e::chain`). A namespace spelled like the
/// wire alias gets a `_` so that its module does not clash with the import.
pub fn module_path(namespace: &Option<String>) -> Vec<String> {
    namespace
        .as_deref()
        .map(|ns| {
            ns.split('.')
                .map(|part| match snake(part) {
                    name if name == WIRE_ALIAS => format!("{name}_"),
                    name => name,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `<base>::<root>::<namespace modules>::<item>`, where `base` is the path of the generated
/// module tree (`crate` when it is the crate root), or empty where `root` is imported.
pub fn item_path(base: &str, root: &str, name: &Name, item: &str) -> String {
    let mut path = Vec::new();
    if !base.is_empty() {
        path.push(base.to_string());
    }
    path.push(root.to_string());
    path.extend(module_path(&name.namespace));
    path.push(item.to_string());
    path.join("::")
}

/// How a resolved type is spelled in generated Rust; `type_item` and `ctor_item` give the Rust
/// item name of a boxed type and of a constructor.
pub fn ty(
    t: &Ty,
    base: &str,
    type_item: &dyn Fn(&Name) -> String,
    ctor_item: &dyn Fn(&Name) -> String,
) -> String {
    match t {
        Ty::Int => "i32".into(),
        Ty::Long => "i64".into(),
        Ty::Double => "f64".into(),
        Ty::Nat => "u32".into(),
        Ty::String => "String".into(),
        Ty::Bytes => "Vec<u8>".into(),
        Ty::Int128 => "[u8; 16]".into(),
        Ty::Int256 => "[u8; 32]".into(),
        Ty::Int512 => "[u8; 64]".into(),
        Ty::Bool | Ty::True => "bool".into(),
        Ty::Object => "tlw::Object".into(),
        Ty::Vector { item, .. } => format!("Vec<{}>", ty(item, base, type_item, ctor_item)),
        Ty::Boxed { name } => item_path(base, "enums", name, &type_item(name)),
        Ty::Bare { constructor } => item_path(base, "types", constructor, &ctor_item(constructor)),
        Ty::Generic { name } => camel(name),
    }
}

/// The wire codec of one value (`tl::wire::Item`): the Rust type itself when it serializes itself
/// (boxed types, primitives, `Vec` of those), `BareOf<T>` for a bare constructor, `VecOf<..>` for a
/// vector with a bare part. A required field's codec is its item's.
pub fn item_codec(t: &Ty, spell: &dyn Fn(&Ty) -> String) -> String {
    match t {
        Ty::Bare { .. } => format!("tlw::BareOf<{}>", spell(t)),
        Ty::Vector { boxed, item } if !all_boxed(t) => {
            format!("tlw::VecOf<{boxed}, {}>", item_codec(item, spell))
        }
        _ => spell(t),
    }
}

/// The tuple arities above 16 for which the runtime implements `Field`
/// (`tl::wire::WIDE_ARITIES`, which a test compares with this list); every arity up to 16 is
/// implemented.
const WIDE_ARITIES: [usize; 4] = [24, 32, 48, 64];

/// The widest layout that is one tuple (and one record of values); wider ones nest.
pub const TUPLE_WIDTH: usize = WIDE_ARITIES[WIDE_ARITIES.len() - 1];

/// A flag's bit or a flags word's number as the runtime spells it, a type (`tlw::N3`): the
/// IR keeps both within 0..32.
pub fn nat(n: u32) -> String {
    format!("{WIRE_ALIAS}::N{n}")
}

/// The arity `tuple` gives a layout of `len` items that is not nested.
fn arity(len: usize) -> usize {
    if len <= 16 {
        len
    } else {
        WIDE_ARITIES
            .into_iter()
            .find(|&a| a >= len)
            .unwrap_or(TUPLE_WIDTH)
    }
}

/// A tuple of `items` as the runtime implements `Field` for it: up to 16 items as they are; up
/// to 64 filled with `()` (a codec of no field) to the next arity of `WIDE_ARITIES`; wider
/// ones nested in chunks of 64. A flat tuple is read straight into its struct, where nested
/// groups were moved into it one by one through the stack.
pub fn tuple(items: &[String]) -> String {
    if items.len() > TUPLE_WIDTH {
        let groups: Vec<String> = items.chunks(TUPLE_WIDTH).map(tuple).collect();
        return tuple(&groups);
    }
    match items {
        [one] => format!("({one},)"),
        _ => format!("({})", filled(items, "()")),
    }
}

/// The pattern that takes apart the values read for `tuple(items)`: records of the same
/// arities and nesting (`tlw::Rec3(a, _, b)`), with `_` for the fillers.
pub fn record_pattern(items: &[String]) -> String {
    if items.len() > TUPLE_WIDTH {
        let groups: Vec<String> = items.chunks(TUPLE_WIDTH).map(record_pattern).collect();
        return record_pattern(&groups);
    }
    let arity = arity(items.len());
    format!("{WIRE_ALIAS}::Rec{arity}({})", filled(items, "_"))
}

/// `items` and as many `filler`s as fill them to their layout's arity, separated by commas.
fn filled(items: &[String], filler: &str) -> String {
    let fill = std::iter::repeat_n(filler, arity(items.len()) - items.len());
    let all: Vec<&str> = items.iter().map(String::as_str).chain(fill).collect();
    all.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_odd_names_become_identifiers() {
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("final"), "r#final");
        assert_eq!(snake("static"), "r#static");
        assert_eq!(snake("loop"), "r#loop");
        assert_eq!(camel("Self"), "Self_");
        assert_eq!(camel("self"), "Self_");
        assert_eq!(snake("bob_ephemeral_PK"), "bob_ephemeral_pk");
        assert_eq!(camel("P_Q_inner_data"), "PQInnerData");
        assert_eq!(camel("server_DH_params_ok"), "ServerDhParamsOk");
        assert_eq!(module_path(&Some("e2e.chain".into())), vec!["e2e", "chain"]);
    }

    #[test]
    fn variant_names_lose_the_words_shared_with_their_type() {
        for (ctor, ty, rest) in [
            (
                "InputPrivacyValueAllowAll",
                "InputPrivacyRule",
                "ValueAllowAll",
            ),
            (
                "InputPrivacyKeyStatusTimestamp",
                "InputPrivacyKey",
                "StatusTimestamp",
            ),
            ("InputPeerEmpty", "InputPeer", "Empty"),
            ("UpdateShortMessage", "Updates", "UpdateShortMessage"),
            ("ChannelFull", "ChatFull", "ChannelFull"),
            ("User", "User", ""),
            ("InputPeer2", "InputPeer", "Peer2"),
            ("", "User", ""),
        ] {
            assert_eq!(strip_shared_words(ctor, ty), rest, "{ctor} in {ty}");
        }
    }

    #[test]
    fn wide_layouts_are_filled_to_an_implemented_arity_and_nested_above_64() {
        let items = |n: usize| (0..n).map(|i| format!("f{i}")).collect::<Vec<_>>();
        let arity = |t: &str| t.matches(", ").count() + 1;
        assert_eq!(tuple(&items(1)), "(f0,)");
        assert_eq!(tuple(&items(3)), "(f0, f1, f2)");
        assert_eq!(tuple(&items(16)).matches("()").count(), 0);
        for (n, filled) in [(17, 24), (24, 24), (25, 32), (33, 48), (49, 64), (64, 64)] {
            let t = tuple(&items(n));
            assert_eq!(arity(&t), filled, "{n} items");
            assert_eq!(t.matches("()").count(), filled - n, "{n} items");
            assert!(!t[1..].replace("()", "").contains('('), "not flat: {t}");
        }
        // The arities filled to are the ones the runtime implements.
        assert_eq!(WIDE_ARITIES, tlgen_runtime::tl::wire::WIDE_ARITIES);
        assert_eq!(RUNTIME_API, tlgen_runtime::tl::wire::API_VERSION);
        let nested = tuple(&items(69));
        assert!(nested.starts_with("((f0, f1,"), "{nested}");
        assert!(
            nested.ends_with(", f63), (f64, f65, f66, f67, f68))"),
            "{nested}"
        );
        // Patterns of the values read: records of the same shapes.
        assert_eq!(record_pattern(&items(2)), "tlw::Rec2(f0, f1)");
        assert_eq!(record_pattern(&items(1)), "tlw::Rec1(f0)");
        let pattern = record_pattern(&items(17));
        assert!(
            pattern.starts_with("tlw::Rec24(f0, ")
                && pattern.ends_with(", f16, _, _, _, _, _, _, _)"),
            "{pattern}"
        );
        let pattern = record_pattern(&items(69));
        assert!(
            pattern.starts_with("tlw::Rec2(tlw::Rec64(f0, "),
            "{pattern}"
        );
        assert!(
            pattern.ends_with(", f63), tlw::Rec5(f64, f65, f66, f67, f68))"),
            "{pattern}"
        );
        assert_eq!(nat(3), "tlw::N3");
    }
}
