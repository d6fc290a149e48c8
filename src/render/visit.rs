//! A visitor over the values of a schema: finds every value of a few chosen boxed types
//! (Telegram's `User` and `Chat`, say) inside any value, with walking code only where a type
//! can hold one of them.

use std::collections::BTreeSet;

use serde::Serialize;

use super::build::{field_idents, Builder};
use super::{RenderError, RenderOptions};
use crate::ir::{Name, Schema, Section, Ty};
use crate::lang::rust::{self, Naming};
use crate::shapes::Shapes;

#[derive(Serialize)]
struct TargetView {
    tl_name: String,
    method: String,
    path: String,
}

#[derive(Serialize)]
struct WalkEnum {
    path: String,
    /// The visitor method to call with the value itself, for a target.
    method: Option<String>,
    /// Variants whose value can hold a target.
    arms: Vec<String>,
    /// Whether the arms are all the variants (no catch-all arm).
    all: bool,
}

#[derive(Serialize)]
struct WalkStruct {
    path: String,
    /// Fields whose value can hold a target.
    fields: Vec<String>,
}

#[derive(Serialize)]
struct VisitView {
    schema_file: String,
    runtime: String,
    targets: Vec<TargetView>,
    enums: Vec<WalkEnum>,
    structs: Vec<WalkStruct>,
}

/// Which types and constructors can hold a value of one of `targets`.
struct Reach {
    types: BTreeSet<Name>,
    ctors: BTreeSet<Name>,
}

impl Reach {
    fn new(schema: &Schema, targets: &BTreeSet<Name>) -> Self {
        let mut reach = Self {
            types: targets.clone(),
            ctors: BTreeSet::new(),
        };
        loop {
            let mut changed = false;
            for c in &schema.constructors {
                if !reach.ctors.contains(&c.name)
                    && c.fields
                        .iter()
                        .filter_map(|f| f.kind.value_ty())
                        .any(|t| reach.ty(t))
                {
                    reach.ctors.insert(c.name.clone());
                    changed = true;
                }
            }
            for (name, t) in &schema.types {
                if !reach.types.contains(name)
                    && t.constructors.iter().any(|c| reach.ctors.contains(c))
                {
                    reach.types.insert(name.clone());
                    changed = true;
                }
            }
            if !changed {
                return reach;
            }
        }
    }

    fn ty(&self, t: &Ty) -> bool {
        match t {
            Ty::Vector { item, .. } => self.ty(item),
            Ty::Boxed { name } => self.types.contains(name),
            Ty::Bare { constructor } => self.ctors.contains(constructor),
            _ => false,
        }
    }
}

/// The source of a module with a `Visitor` trait (a method per target type) and a `Walk`
/// trait implemented by every enum and struct that can hold a target, and by every type a
/// function returns; `opts.module_path` is where the generated tree is mounted. The module is
/// formatted; mount it anywhere.
///
/// # Errors
///
/// [`RenderError::Unsupported`] for a target that is not a boxed type of the schema.
pub fn visitor(
    schema: &Schema,
    targets: &[&str],
    opts: &RenderOptions,
) -> Result<String, RenderError> {
    let naming = Naming::new(schema, &opts.module_path);
    let base = opts.module_path.clone();
    let b = Builder {
        schema,
        naming,
        shapes: Shapes::new(schema),
    };
    let mut target_names = BTreeSet::new();
    for t in targets {
        let name = Name::parse(t);
        if !schema.types.contains_key(&name) {
            return Err(RenderError::Unsupported {
                definition: (*t).to_string(),
                message: "a visitor target must be a boxed type of the schema".to_string(),
            });
        }
        target_names.insert(name);
    }
    let reach = Reach::new(schema, &target_names);
    let enum_path = |name: &Name| {
        let item = b.naming.ty.get(name).cloned().unwrap_or_default();
        rust::item_path(&base, "enums", name, &item)
    };
    let ctor_path = |name: &Name| {
        let item = b.naming.ctor.get(name).cloned().unwrap_or_default();
        rust::item_path(&base, "types", name, &item)
    };
    let method = |name: &Name| rust::snake(&name.full().replace('.', "_"));
    // Types a function returns need an implementation even when they hold no target.
    let mut returned_types = BTreeSet::new();
    let mut returned_ctors = BTreeSet::new();
    fn collect(t: &Ty, types: &mut BTreeSet<Name>, ctors: &mut BTreeSet<Name>) {
        match t {
            Ty::Vector { item, .. } => collect(item, types, ctors),
            Ty::Boxed { name } => {
                types.insert(name.clone());
            }
            Ty::Bare { constructor } => {
                ctors.insert(constructor.clone());
            }
            _ => {}
        }
    }
    for f in schema
        .definitions()
        .filter(|d| d.section == Section::Functions)
    {
        collect(&f.result, &mut returned_types, &mut returned_ctors);
    }
    let mut enums = Vec::new();
    for name in schema.types.keys() {
        let is_target = target_names.contains(name);
        if !(reach.types.contains(name) || returned_types.contains(name)) {
            continue;
        }
        let view = b.enum_view(name)?;
        let t = &schema.types[name];
        let arms: Vec<String> = t
            .constructors
            .iter()
            .zip(&view.variants)
            .filter(|(c, v)| !v.unit && reach.ctors.contains(*c))
            .map(|(_, v)| v.name.clone())
            .collect();
        enums.push(WalkEnum {
            path: enum_path(name),
            method: is_target.then(|| method(name)),
            all: arms.len() == view.variants.len(),
            arms,
        });
    }
    let mut structs = Vec::new();
    for c in &schema.constructors {
        if !(reach.ctors.contains(&c.name) || returned_ctors.contains(&c.name)) {
            continue;
        }
        let idents = field_idents(c);
        let fields = c
            .fields
            .iter()
            .zip(idents)
            .filter(|(f, _)| f.kind.value_ty().is_some_and(|t| reach.ty(t)))
            .map(|(_, ident)| ident)
            .collect();
        structs.push(WalkStruct {
            path: ctor_path(&c.name),
            fields,
        });
    }
    let view = VisitView {
        schema_file: opts.schema_file.clone(),
        runtime: opts.runtime_path.clone(),
        targets: target_names
            .iter()
            .map(|n| TargetView {
                tl_name: n.full(),
                method: method(n),
                path: enum_path(n),
            })
            .collect(),
        enums,
        structs,
    };
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    let failed = |e: tera::Error| RenderError::Template {
        template: "visit.rs.tera".to_string(),
        message: e.to_string(),
    };
    tera.add_raw_template(
        "visit.rs.tera",
        include_str!("../../templates/rust/visit.rs.tera"),
    )
    .map_err(failed)?;
    let context = tera::Context::from_serialize(&view).map_err(failed)?;
    let source = tera.render("visit.rs.tera", &context).map_err(failed)?;
    rust::format(&source).map_err(|e| {
        let line = e.span().start().line;
        RenderError::InvalidOutput {
            template: "visit.rs.tera".to_string(),
            file: "visit.rs".to_string(),
            message: e.to_string(),
            line_text: source
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or("")
                .to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "\
user id:long = User;
userEmpty = User;
chat id:long = Chat;
msgs flags:# users:Vector<User> chats:flags.0?Vector<Chat> count:int = Msgs;
nested inner:Msgs = Nested;
other x:int = Other;
---functions---
get = Msgs;
getOther = Other;
getIds = Vector<long>;
";

    fn opts() -> RenderOptions {
        RenderOptions {
            schema_file: "t.tl".to_string(),
            layer: None,
            module_path: "crate".to_string(),
            runtime_path: super::super::DEFAULT_RUNTIME_PATH.to_string(),
        }
    }

    #[test]
    fn walks_only_what_can_hold_a_target() {
        let (schema, diags) = crate::check("t.tl", SCHEMA);
        let schema = schema.unwrap_or_else(|| panic!("{diags:?}"));
        let out = visitor(&schema, &["User", "Chat"], &opts()).unwrap();
        assert!(
            out.contains("fn user(&mut self, value: &crate::enums::User)"),
            "{out}"
        );
        assert!(
            out.contains("fn chat(&mut self, value: &crate::enums::Chat)"),
            "{out}"
        );
        // Holds targets: walking bodies, through a vector, an optional field and a nested type.
        assert!(out.contains("impl Walk for crate::types::Msgs {"), "{out}");
        assert!(out.contains("self.users.walk(visitor);"), "{out}");
        assert!(out.contains("self.chats.walk(visitor);"), "{out}");
        assert!(!out.contains("self.count"), "{out}");
        assert!(
            out.contains("impl Walk for crate::types::Nested {"),
            "{out}"
        );
        // A target calls the visitor; `User` has a unit variant, so a catch-all arm.
        assert!(out.contains("visitor.user(self);"), "{out}");
        // Returned but holding nothing: an empty implementation; neither returned nor
        // holding: none.
        assert!(
            out.contains("impl Walk for crate::enums::Other {}"),
            "{out}"
        );
        assert!(!out.contains("crate::types::Other"), "{out}");
    }

    #[test]
    fn a_target_must_be_a_boxed_type() {
        let (schema, _) = crate::check("t.tl", SCHEMA);
        let err = visitor(&schema.unwrap(), &["Nope"], &opts()).unwrap_err();
        assert!(err.to_string().contains("Nope"), "{err}");
    }
}
