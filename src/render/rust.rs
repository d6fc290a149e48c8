//! Rust naming rules: identifiers, keywords, type spellings and module paths for the Rust templates.

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::ir::{Name, Ty};

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
        Ty::Object => "::tlgen_runtime::Object".into(),
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
        Ty::Vector { boxed, item } if !super::all_boxed(t) => {
            format!("tlw::VecOf<{boxed}, {}>", item_codec(item, spell))
        }
        _ => spell(t),
    }
}

/// A tuple of `items`, nested in chunks of `tl::wire::TUPLE_WIDTH` (16).
pub fn tuple(items: &[String]) -> String {
    const WIDTH: usize = 16;
    if items.len() > WIDTH {
        let groups: Vec<String> = items.chunks(WIDTH).map(tuple).collect();
        return tuple(&groups);
    }
    match items {
        [one] => format!("({one},)"),
        _ => format!("({})", items.join(", ")),
    }
}

/// Formats one generated Rust file: parsed by syn, printed by prettyplease.
pub fn format(source: &str) -> Result<String, syn::Error> {
    syn::parse_file(source).map(|file| prettyplease::unparse(&file))
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
}
