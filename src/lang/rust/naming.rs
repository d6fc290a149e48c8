//! The names of a schema's items in Rust, and the text of their docs.

use std::collections::BTreeMap;

use crate::ir::{Name, Schema, Ty};

/// Names prelude items; a generated item with one of these names gets a `_` suffix, so that
/// generated code can keep using the prelude.
pub(crate) const PRELUDE: &[&str] = &[
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "Vec",
    "Box",
    "String",
    "ToString",
    "Default",
    "Clone",
    "Debug",
    "PartialEq",
    "Send",
    "Sync",
    "Sized",
    "Copy",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "Into",
    "Iterator",
];

/// The Rust names of a schema's items: a constructor's struct, a function's struct and a
/// type's enum, unique within their module (a clash gets the id as a suffix).
pub(crate) struct Naming {
    /// What item paths start with: the path of the generated tree (`crate`), or nothing when
    /// module files import `enums` and `types` (see `FileView::uses`).
    pub(crate) prefix: String,
    pub(crate) ctor: BTreeMap<Name, String>,
    pub(crate) func: BTreeMap<Name, String>,
    pub(crate) ty: BTreeMap<Name, String>,
}

impl Naming {
    pub(crate) fn new(schema: &Schema, base: &str) -> Self {
        fn assign<'a>(items: impl Iterator<Item = (&'a Name, u32)>) -> BTreeMap<Name, String> {
            let mut taken: BTreeMap<(Option<String>, String), usize> = BTreeMap::new();
            let items: Vec<_> = items.collect();
            for (name, _) in &items {
                *taken
                    .entry((name.namespace.clone(), item_name(&name.name)))
                    .or_default() += 1;
            }
            items
                .into_iter()
                .map(|(name, id)| {
                    let base = item_name(&name.name);
                    let key = (name.namespace.clone(), base.clone());
                    let clash = taken.get(&key).is_some_and(|&n| n > 1);
                    let n = if clash {
                        format!("{base}{id:08x}")
                    } else {
                        base
                    };
                    (name.clone(), n)
                })
                .collect()
        }
        let type_ids = schema
            .types
            .keys()
            .map(|n| (n, crc32fast::hash(n.full().as_bytes())));
        // A namespace module named like one of the imported roots would clash with the import.
        let clash = schema
            .definitions()
            .map(|d| &d.name)
            .chain(schema.types.keys())
            .any(|n| {
                super::module_path(&n.namespace)
                    .iter()
                    .any(|m| m == "enums" || m == "types")
            });
        Self {
            prefix: if clash {
                base.to_string()
            } else {
                String::new()
            },
            ctor: assign(schema.constructors.iter().map(|d| (&d.name, d.id))),
            func: assign(schema.functions.iter().map(|d| (&d.name, d.id))),
            ty: assign(type_ids),
        }
    }

    pub(crate) fn rust_ty(&self, t: &Ty) -> String {
        super::ty(
            t,
            &self.prefix,
            &|n: &Name| {
                self.ty
                    .get(n)
                    .cloned()
                    .unwrap_or_else(|| item_name(&n.name))
            },
            &|n: &Name| {
                self.ctor
                    .get(n)
                    .cloned()
                    .unwrap_or_else(|| item_name(&n.name))
            },
        )
    }
}

/// The item name of a TL name: upper camel case, with `_` after a prelude name.
fn item_name(tl: &str) -> String {
    let n = super::camel(tl);
    if PRELUDE.contains(&n.as_str()) {
        format!("{n}_")
    } else {
        n
    }
}

/// Escapes text for a rustdoc line: no markdown links or html.
pub(crate) fn doc_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '[' | ']' | '<' | '>' | '*' | '_' | '`' | '#' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
