//! `Schema` values can be built by hand (every field is public), so the stages after the checker
//! must not rely on what the checker guarantees: on any `Schema`, however inconsistent (unknown
//! types and constructors, missing flags words, duplicate names, unsorted lists, odd names),
//! rendering and `tlgen diff` return a result or a typed error, and never panic.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tlgen::ir::{Definition, Field, FieldKind, Name, Schema, Section, Ty, TypeDef};

/// A few names, among them keywords, prelude names, digits, non-ASCII and empty ones, shared by
/// definitions, types and references so that references sometimes resolve.
fn name() -> impl Strategy<Value = Name> {
    let words = prop::sample::select(vec![
        "a",
        "b",
        "node",
        "Node",
        "self",
        "Self",
        "type",
        "Option",
        "1x",
        "",
        "é",
        "inputPeerEmpty",
        "InputPeer",
        "crate",
        "a b",
    ]);
    (
        prop::option::of(prop::sample::select(vec!["ns", "types", "enums", "r#"])),
        words,
    )
        .prop_map(|(ns, n)| Name {
            namespace: ns.map(str::to_string),
            name: n.to_string(),
        })
}

fn ty() -> impl Strategy<Value = Ty> {
    let leaf = prop_oneof![
        Just(Ty::Int),
        Just(Ty::Long),
        Just(Ty::Nat),
        Just(Ty::String),
        Just(Ty::Int512),
        Just(Ty::Bool),
        Just(Ty::True),
        Just(Ty::Object),
        name().prop_map(|name| Ty::Boxed { name }),
        name().prop_map(|constructor| Ty::Bare { constructor }),
        prop::sample::select(vec!["t", "X", "self"]).prop_map(|n| Ty::Generic { name: n.into() }),
    ];
    leaf.prop_recursive(3, 8, 1, |inner| {
        (any::<bool>(), inner).prop_map(|(boxed, item)| Ty::Vector {
            boxed,
            item: Box::new(item),
        })
    })
}

fn field() -> impl Strategy<Value = Field> {
    let flags = prop::sample::select(
        vec!["flags"; 12]
            .into_iter()
            .chain(["flags2", "missing"])
            .collect::<Vec<_>>(),
    );
    let kind = prop_oneof![
        Just(FieldKind::Flags),
        ty().prop_map(|ty| FieldKind::Required { ty }),
        (flags.clone(), 0u32..40, ty()).prop_map(|(f, bit, ty)| FieldKind::Optional {
            flags: f.into(),
            bit,
            ty
        }),
        (flags, 0u32..40).prop_map(|(f, bit)| FieldKind::FlagTrue {
            flags: f.into(),
            bit
        }),
    ];
    (
        prop::sample::select(vec!["flags", "flags2", "a", "type", "self", "", "1"]),
        kind,
    )
        .prop_map(|(n, kind)| Field {
            name: n.into(),
            kind,
            doc: None,
        })
}

fn definition(section: Section) -> impl Strategy<Value = Definition> {
    (
        name(),
        any::<u32>(),
        prop::collection::vec(field(), 0..5),
        ty(),
        prop::collection::vec(prop::sample::select(vec!["X", "t", "self"]), 0..2),
        prop::sample::select(vec![0usize, 1, 1, 1, 2]),
    )
        .prop_map(move |(name, id, mut fields, result, generics, words)| {
            // Mostly a flags word or two in front, so that flag fields often find theirs.
            for word in ["flags2", "flags"].into_iter().skip(2 - words) {
                fields.insert(
                    0,
                    Field {
                        name: word.into(),
                        kind: FieldKind::Flags,
                        doc: None,
                    },
                );
            }
            Definition {
                section,
                tl: format!("{name}#{id:08x} = ?;"),
                name,
                id,
                explicit_id: true,
                generics: generics.into_iter().map(str::to_string).collect(),
                fields,
                result,
                doc: Some("a [doc] *with* `marks`\nand lines".into()),
                line: 1,
            }
        })
}

fn schema() -> impl Strategy<Value = Schema> {
    (
        prop::option::of(any::<i32>()),
        prop::collection::vec(definition(Section::Types), 0..8),
        prop::collection::vec(definition(Section::Functions), 0..4),
        prop::collection::vec((name(), prop::collection::vec(name(), 0..4)), 0..6),
        any::<bool>(),
    )
        .prop_map(|(layer, mut constructors, functions, types, sort)| {
            if sort {
                constructors.sort_by(|a, b| a.name.cmp(&b.name));
            }
            let types: BTreeMap<Name, TypeDef> = types
                .into_iter()
                .map(|(name, constructors)| {
                    let t = TypeDef {
                        name: name.clone(),
                        constructors,
                        doc: None,
                    };
                    (name, t)
                })
                .collect();
            Schema {
                layer,
                constructors,
                functions,
                types,
            }
        })
}

fn options() -> tlgen::render::RenderOptions {
    tlgen::render::RenderOptions {
        schema_file: "any.tl".into(),
        layer: Some(1),
        module_path: "crate".into(),
        runtime_path: tlgen::render::DEFAULT_RUNTIME_PATH.into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Rendering any schema gives files or an error.
    #[test]
    fn rendering_any_schema_does_not_panic(s in schema()) {
        let _ = tlgen::render::render(&s, &options());
    }

    /// Rendering any schema as a Python package gives files or an error.
    #[test]
    fn rendering_any_schema_in_python_does_not_panic(s in schema()) {
        let _ = tlgen::render::render_lang(&s, &options(), tlgen::lang::Lang::Python);
    }

    /// Comparing any two schemas gives a report.
    #[test]
    fn diffing_any_schemas_does_not_panic(old in schema(), new in schema()) {
        let d = tlgen::diff::diff("old.tl", &old, "new.tl", &new);
        let _ = (d.to_text(), d.to_markdown(), d.to_json());
    }
}
