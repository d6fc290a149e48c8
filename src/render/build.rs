//! One definition or boxed type to its view: names by the language's rules, wire codecs, docs.

use std::collections::BTreeSet;

use super::text::{field_doc, wrap, wrap_tl};
use super::view::{EnumView, FieldView, StructView, VariantView};
use super::RenderError;
use crate::ir::{Definition, FieldKind, Name, Schema, Section, Ty};
use crate::lang::rust::{self, doc_text, Naming, PRELUDE};
use crate::shapes::Shapes;

pub(super) fn id_hex(id: u32) -> String {
    format!("{id:#010x}")
}

/// Field identifiers of a definition, unique within its struct.
pub(super) fn field_idents(d: &Definition) -> Vec<String> {
    let mut idents: Vec<String> = Vec::new();
    for f in &d.fields {
        let mut ident = rust::snake(&f.name);
        while idents.contains(&ident) {
            ident.push('_');
        }
        idents.push(ident);
    }
    idents
}

pub(super) struct Builder<'a> {
    pub(super) schema: &'a Schema,
    pub(super) naming: Naming,
    pub(super) shapes: Shapes<'a>,
}

impl Builder<'_> {
    pub(super) fn struct_view(&self, d: &Definition) -> Result<StructView, RenderError> {
        let function = d.section == Section::Functions;
        let tl_name = d.name.full();
        let unsupported = |message: String| RenderError::Unsupported {
            definition: tl_name.clone(),
            message,
        };
        let names = if function {
            &self.naming.func
        } else {
            &self.naming.ctor
        };
        // Every definition of the schema is named; a definition from elsewhere is not.
        let name = names
            .get(&d.name)
            .cloned()
            .ok_or_else(|| unsupported("it is not a definition of this schema".to_string()))?;
        let idents = field_idents(d);
        // `?true` bits that an optional value on the same bit already carries.
        let valued_bits: BTreeSet<(&str, u32)> = d
            .fields
            .iter()
            .filter_map(|f| match &f.kind {
                FieldKind::Optional { flags, bit, .. } => Some((flags.as_str(), *bit)),
                _ => None,
            })
            .collect();
        if self.shapes.is_infinite(&d.name) {
            return Err(unsupported(
                "it holds itself through required bare fields alone, so no value of it is finite"
                    .to_string(),
            ));
        }
        let mut fields = Vec::new();
        for (i, (f, ident)) in d.fields.iter().zip(&idents).enumerate() {
            let mut doc: Vec<String> = f.doc.iter().flat_map(|d| wrap(&doc_text(d))).collect();
            if !doc.is_empty() {
                doc.push(String::new());
            }
            doc.push(field_doc(f));
            let (kind, ty, bit) = match &f.kind {
                FieldKind::Flags => ("flags", Ty::Nat, 0),
                FieldKind::Required { ty } => ("required", ty.clone(), 0),
                FieldKind::Optional { bit, ty, .. } => ("optional", ty.clone(), *bit),
                FieldKind::FlagTrue { flags, bit } => {
                    let implied = valued_bits.contains(&(flags.as_str(), *bit));
                    (if implied { "implied" } else { "flag" }, Ty::True, *bit)
                }
            };
            let spell = |t: &Ty| self.naming.rust_ty(t);
            if kind == "required" && ty == Ty::True {
                return Err(unsupported(format!(
                    "field `{}` of type `true` outside a flag",
                    f.name
                )));
            }
            let word_of = |flags: &str| {
                d.fields
                    .iter()
                    .filter(|g| matches!(g.kind, FieldKind::Flags))
                    .position(|g| g.name == flags)
            };
            let word = match &f.kind {
                FieldKind::Flags => word_of(&f.name),
                FieldKind::Optional { flags, .. } | FieldKind::FlagTrue { flags, .. } => {
                    word_of(flags)
                }
                _ => Some(0),
            };
            let word = match word {
                Some(w) if w < 4 => w,
                Some(_) => {
                    return Err(unsupported(format!(
                        "more than 4 flags words (at `{}`)",
                        f.name
                    )))
                }
                None => {
                    return Err(unsupported(format!(
                        "field `{}` names a flags word that is not one of its `#` fields",
                        f.name
                    )))
                }
            };
            let mut item = rust::item_codec(&ty, &spell);
            let mut rust_ty = self.naming.rust_ty(&ty);
            if self.shapes.field_boxed(d, i) {
                (rust_ty, item) = rust::boxed(&rust_ty, &item);
            }
            let codec = rust::field_codec(kind, item, bit, word as u32);
            fields.push(FieldView {
                name: ident.clone(),
                ty: rust_ty,
                doc,
                kind,
                stored: kind != "flags" && kind != "implied",
                codec,
            });
        }
        let stored = fields.iter().filter(|f| f.stored).count();
        let (returns, returns_generic) = match &d.result {
            Ty::Generic { name } if function => (rust::camel(name), true),
            other => (self.naming.rust_ty(other), false),
        };
        let default = self.shapes.has_default(d);
        let mut doc = Vec::new();
        if let Some(text) = &d.doc {
            doc.extend(wrap(&doc_text(text)));
            doc.push(String::new());
        }
        let wire = rust::tuple(&fields.iter().map(|f| f.codec.clone()).collect::<Vec<_>>());
        let (pattern, init, refs) = rust::conversions(
            &(fields.iter())
                .map(|f| (f.name.as_str(), f.stored))
                .collect::<Vec<_>>(),
        );
        Ok(StructView {
            wire,
            pattern,
            init,
            refs,
            // TL names (for errors), with the Rust name after `=` where the struct's field is
            // named otherwise (for `Debug`, which prints it as a derive would).
            field_names: d
                .fields
                .iter()
                .zip(&fields)
                .map(|(f, v)| {
                    let rust = v.name.trim_start_matches("r#");
                    if v.stored && rust != f.name {
                        format!("{}={rust}", f.name)
                    } else {
                        f.name.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
            name,
            tl_name,
            id: id_hex(d.id),
            doc,
            tl: wrap_tl(&d.tl),
            generics: d.generics.iter().map(|g| rust::camel(g)).collect(),
            gparams: if d.generics.is_empty() {
                String::new()
            } else {
                format!(
                    "<{}>",
                    d.generics
                        .iter()
                        .map(|g| rust::camel(g))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            unit: stored == 0,
            fields,
            default,
            function,
            returns,
            returns_generic,
        })
    }

    pub(super) fn enum_view(&self, name: &Name) -> Result<EnumView, RenderError> {
        let unknown = || RenderError::Unsupported {
            definition: name.full(),
            message: "it is not a type of this schema".to_string(),
        };
        let (Some(t), Some(enum_name)) = (self.schema.types.get(name), self.naming.ty.get(name))
        else {
            return Err(unknown());
        };
        let type_camel = rust::camel(&name.name);
        let default_variant = self.shapes.default_variant(name);
        let mut variants: Vec<VariantView> = Vec::new();
        let stripped: Vec<String> = t
            .constructors
            .iter()
            .map(|c| {
                let full = rust::camel(&c.name);
                let rest = rust::strip_shared_words(&full, &type_camel);
                if !rest.is_empty() && rust::escape(rest) == rest && !PRELUDE.contains(&rest) {
                    rest.to_string()
                } else {
                    full
                }
            })
            .collect();
        for (i, c) in t.constructors.iter().enumerate() {
            // A type lists the constructors of the schema that build it; one that is not
            // there has no struct to hold.
            let (Some(def), Some(item)) = (self.schema.constructor(c), self.naming.ctor.get(c))
            else {
                continue;
            };
            let mut vname = stripped[i].clone();
            if stripped.iter().filter(|s| **s == vname).count() > 1
                || PRELUDE.contains(&vname.as_str())
                || vname == "Self_"
            {
                vname = format!("{}{:08x}", rust::camel(&c.name), def.id);
            }
            variants.push(VariantView {
                name: vname,
                path: rust::item_path(&self.naming.prefix, "types", c, item),
                id: id_hex(def.id),
                unit: def.fields.is_empty(),
                boxed: self.shapes.variant_boxed(c),
                default: default_variant == Some(c),
            });
        }
        let mut doc = Vec::new();
        if let Some(text) = &t.doc {
            doc.extend(wrap(&doc_text(text)));
            doc.push(String::new());
        }
        Ok(EnumView {
            name: enum_name.clone(),
            tl_name: name.full(),
            doc,
            default: default_variant.is_some(),
            variants,
        })
    }
}
