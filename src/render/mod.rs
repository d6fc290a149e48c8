//! Render stage: IR to a language-neutral view model, through the target language's tera templates, to formatted files.
//!
//! The view model (`FileView` and the structs below) holds plain strings and flags: what is
//! generated and how each field travels on the wire. A target language supplies its naming rules
//! (`rust.rs`) and a template folder (`templates/<lang>/`); nothing else here is language-specific.

pub mod rust;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::ir::{Definition, FieldKind, Name, Schema, Ty};
use crate::parse::Section;

/// The Rust templates, built into the binary so that it runs from anywhere.
const RUST_TEMPLATES: &[(&str, &str)] = &[
    (
        "module.rs.tera",
        include_str!("../../templates/rust/module.rs.tera"),
    ),
    (
        "root.rs.tera",
        include_str!("../../templates/rust/root.rs.tera"),
    ),
];

/// What the generated files say about where they came from.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The schema file's name (no directories), for the header line.
    pub schema_file: String,
    /// The layer, if known.
    pub layer: Option<i32>,
    /// Rust path of the generated module tree: `crate` when its `lib.rs` is the crate root, or
    /// e.g. `crate::mtproto::schema` when it is mounted as a module.
    pub module_path: String,
}

/// One generated file, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Relative path (`types/account.rs`).
    pub path: PathBuf,
    /// Final contents.
    pub contents: String,
}

/// A failure to render: a template error, or a template that yielded invalid Rust.
#[derive(Debug)]
#[non_exhaustive]
pub enum RenderError {
    /// The template engine failed.
    Template {
        /// Which template.
        template: String,
        /// What it said.
        message: String,
    },
    /// A template yielded a file that does not parse as Rust.
    InvalidOutput {
        /// Which template.
        template: String,
        /// The file being generated.
        file: String,
        /// The parser's message and position.
        message: String,
        /// The offending line.
        line_text: String,
    },
    /// A field shape the generator does not support.
    Unsupported {
        /// The definition.
        definition: String,
        /// What is unsupported.
        message: String,
    },
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Template { template, message } => {
                write!(f, "template {template} failed: {message}")
            }
            Self::InvalidOutput {
                template,
                file,
                message,
                line_text,
            } => write!(
                f,
                "template {template} yielded invalid rust for {file}: {message}\n  | {line_text}"
            ),
            Self::Unsupported {
                definition,
                message,
            } => write!(f, "unsupported in `{definition}`: {message}"),
        }
    }
}

impl std::error::Error for RenderError {}

/// The view of one generated file.
#[derive(Debug, Serialize)]
pub struct FileView {
    /// Output path.
    pub path: String,
    /// The module's one-line description.
    pub doc: String,
    /// Submodules declared here.
    pub modules: Vec<String>,
    /// Constructor and function structs.
    pub structs: Vec<StructView>,
    /// Boxed types.
    pub enums: Vec<EnumView>,
    /// The crate root's extras.
    pub root: Option<RootView>,
}

/// Crate-root contents.
#[derive(Debug, Serialize)]
pub struct RootView {
    /// The layer, if known.
    pub layer: Option<i32>,
    /// The schema file name.
    pub schema_file: String,
    /// Every id with its TL name, sorted by id.
    pub names: Vec<(String, String)>,
}

/// A constructor or function.
#[derive(Debug, Serialize)]
pub struct StructView {
    /// Item name.
    pub name: String,
    /// TL name.
    pub tl_name: String,
    /// `0x1cb5c415`.
    pub id: String,
    /// Description lines.
    pub doc: Vec<String>,
    /// The TL line.
    pub tl: String,
    /// Type parameters.
    pub generics: Vec<String>,
    /// Type parameters as written after the name (`<X>`), or empty.
    pub gparams: String,
    /// Fields, in wire order, flags words included.
    pub fields: Vec<FieldView>,
    /// Whether every field has a default.
    pub default: bool,
    /// Whether this is a function.
    pub function: bool,
    /// The function's result type.
    pub returns: String,
    /// Whether the result is the type parameter's own result (`invokeWithLayer`).
    pub returns_generic: bool,
    /// No stored fields.
    pub unit: bool,
    /// The field codecs as one (nested) tuple type.
    pub wire: String,
    /// TL names of the wire fields, in order.
    pub field_names: Vec<String>,
    /// The pattern that takes the read tuple apart.
    pub pattern: String,
    /// The tuple of references written out.
    pub refs: String,
}

/// A field, with how it travels.
#[derive(Debug, Serialize)]
pub struct FieldView {
    /// Identifier.
    pub name: String,
    /// Type as stored.
    pub ty: String,
    /// Doc lines.
    pub doc: Vec<String>,
    /// `flags`, `required`, `optional`, `flag` (a `?true` bit) or `implied` (a `?true` bit that
    /// shares its bit with an optional value, so it is not stored).
    pub kind: &'static str,
    /// The field's wire codec (`tl::wire::Field`).
    pub codec: String,
}

/// A boxed type.
#[derive(Debug, Serialize)]
pub struct EnumView {
    /// Item name.
    pub name: String,
    /// TL name.
    pub tl_name: String,
    /// Doc lines.
    pub doc: Vec<String>,
    /// One per constructor.
    pub variants: Vec<VariantView>,
    /// Whether it derives `Default` (it has a constructor without fields).
    pub default: bool,
}

/// A constructor of a boxed type.
#[derive(Debug, Serialize)]
pub struct VariantView {
    /// Variant name.
    pub name: String,
    /// Path of the constructor's struct.
    pub path: String,
    /// `0x...`.
    pub id: String,
    /// No fields: a unit variant.
    pub unit: bool,
    /// Boxed: to break a cycle of types, or because the constructor is large.
    pub boxed: bool,
    /// The default variant.
    pub default: bool,
}

/// Time spent per stage, in seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RenderTimings {
    /// View model.
    pub model: f64,
    /// Templates.
    pub templates: f64,
    /// syn + prettyplease.
    pub format: f64,
}

/// Names prelude items; a generated item with one of these names gets a `_` suffix, so that
/// generated code can keep using the prelude.
const PRELUDE: &[&str] = &[
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

struct Naming {
    base: String,
    ctor: HashMap<Name, String>,
    func: HashMap<Name, String>,
    ty: HashMap<Name, String>,
}

impl Naming {
    fn new(schema: &Schema, base: &str) -> Self {
        fn assign<'a>(items: impl Iterator<Item = (&'a Name, u32)>) -> HashMap<Name, String> {
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
                    let clash = taken[&(name.namespace.clone(), base.clone())] > 1;
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
        Self {
            base: base.to_string(),
            ctor: assign(schema.constructors.iter().map(|d| (&d.name, d.id))),
            func: assign(schema.functions.iter().map(|d| (&d.name, d.id))),
            ty: assign(type_ids),
        }
    }

    fn rust_ty(&self, t: &Ty) -> String {
        rust::ty(
            t,
            &self.base,
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

fn item_name(tl: &str) -> String {
    let n = rust::camel(tl);
    if PRELUDE.contains(&n.as_str()) {
        format!("{n}_")
    } else {
        n
    }
}

/// Facts about types that decide derives and boxing (shared with `tlgen diff`, which must judge
/// `Default` exactly as the renderer derives it).
pub struct Shapes<'a> {
    schema: &'a Schema,
    /// Constructors that can reach themselves through inline (non-vector) fields.
    recursive: BTreeSet<Name>,
    /// Constructors whose structs can derive `Default`.
    defaultable: BTreeSet<Name>,
}

impl<'a> Shapes<'a> {
    /// Computes the facts for `schema`.
    pub fn new(schema: &'a Schema) -> Self {
        // Inline edges: constructor -> constructors it holds by value (Vec breaks the size cycle).
        let mut edges: BTreeMap<&Name, Vec<&Name>> = BTreeMap::new();
        for c in &schema.constructors {
            let out = edges.entry(&c.name).or_default();
            for f in &c.fields {
                let ty = match &f.kind {
                    FieldKind::Required { ty } | FieldKind::Optional { ty, .. } => ty,
                    _ => continue,
                };
                match ty {
                    Ty::Boxed { name } => {
                        if let Some(t) = schema.types.get(name) {
                            out.extend(t.constructors.iter());
                        }
                    }
                    Ty::Bare { constructor } => out.push(constructor),
                    _ => {}
                }
            }
        }
        let mut recursive = BTreeSet::new();
        for start in edges.keys() {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&Name> = edges[start].clone();
            while let Some(n) = stack.pop() {
                if n == *start {
                    recursive.insert((*start).clone());
                    break;
                }
                if seen.insert(n) {
                    if let Some(next) = edges.get(n) {
                        stack.extend(next.iter().copied());
                    }
                }
            }
        }
        let mut shapes = Self {
            schema,
            recursive,
            defaultable: BTreeSet::new(),
        };
        // A fixed point: a struct is defaultable when all its stored fields are.
        loop {
            let mut changed = false;
            for c in &schema.constructors {
                if !shapes.defaultable.contains(&c.name)
                    && c.fields.iter().all(|f| shapes.field_default(f))
                {
                    shapes.defaultable.insert(c.name.clone());
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        shapes
    }

    fn field_default(&self, f: &crate::ir::Field) -> bool {
        match &f.kind {
            FieldKind::Required { ty } => self.ty_default(ty),
            _ => true,
        }
    }

    fn ty_default(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Int512 => false,
            Ty::Boxed { name } => self.enum_default(name),
            Ty::Bare { constructor } => self.defaultable.contains(constructor),
            _ => true,
        }
    }

    /// Whether the struct generated for `d` derives `Default`.
    pub fn derives_default(&self, d: &Definition) -> bool {
        match d.section {
            Section::Types => self.defaultable.contains(&d.name),
            Section::Functions => d.fields.iter().all(|f| self.field_default(f)),
        }
    }

    /// An enum derives `Default` when one of its constructors has no fields.
    fn enum_default(&self, name: &Name) -> bool {
        self.default_variant(name).is_some()
    }

    /// The `#[default]` variant of boxed type `name`: its first constructor (by name) without
    /// fields, if any.
    pub fn default_variant(&self, name: &Name) -> Option<&'a Name> {
        self.schema.types.get(name)?.constructors.iter().find(|c| {
            self.schema
                .constructor(c)
                .is_some_and(|d| d.fields.is_empty())
        })
    }
}

/// An enum variant holds its constructor inline when the constructor stores at most this many
/// fields, and in a `Box` above it: enums stay small (`Vec<enums::Message>` is a vector of
/// pointers, not of 2.5 KB values), so decoding moves pointers instead of copying large values.
const INLINE_FIELDS: usize = 4;

fn stored_fields(d: &Definition) -> usize {
    d.fields
        .iter()
        .filter(|f| !matches!(f.kind, FieldKind::Flags))
        .count()
}

/// Escapes text for a rustdoc line: no markdown links or html.
fn doc_text(s: &str) -> String {
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

/// Whether a type is written with every id (no bare constructor, no bare vector inside).
pub(crate) fn all_boxed(ty: &Ty) -> bool {
    match ty {
        Ty::Bare { .. } => false,
        Ty::Vector { boxed, item } => *boxed && all_boxed(item),
        _ => true,
    }
}

fn id_hex(id: u32) -> String {
    format!("{id:#010x}")
}

struct Builder<'a> {
    schema: &'a Schema,
    naming: Naming,
    shapes: Shapes<'a>,
}

impl Builder<'_> {
    fn struct_view(&self, d: &Definition) -> Result<StructView, RenderError> {
        let function = d.section == Section::Functions;
        let name = if function {
            self.naming.func[&d.name].clone()
        } else {
            self.naming.ctor[&d.name].clone()
        };
        let tl_name = d.name.full();
        let unsupported = |message: String| RenderError::Unsupported {
            definition: tl_name.clone(),
            message,
        };
        // Field identifiers, unique within the struct.
        let mut idents: Vec<String> = Vec::new();
        for f in &d.fields {
            let mut ident = rust::snake(&f.name);
            while idents.contains(&ident) {
                ident.push('_');
            }
            idents.push(ident);
        }
        // `?true` bits that an optional value on the same bit already carries.
        let valued_bits: BTreeSet<(&str, u32)> = d
            .fields
            .iter()
            .filter_map(|f| match &f.kind {
                FieldKind::Optional { flags, bit, .. } => Some((flags.as_str(), *bit)),
                _ => None,
            })
            .collect();
        let mut fields = Vec::new();
        for (f, ident) in d.fields.iter().zip(&idents) {
            let doc: Vec<String> = f.doc.iter().map(|d| doc_text(d)).collect();
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
                _ => {
                    return Err(unsupported(format!(
                        "more than 4 flags words (at `{}`)",
                        f.name
                    )))
                }
            };
            let item = rust::item_codec(&ty, &spell);
            let codec = match kind {
                "flags" => format!("tlw::Flags<{word}>"),
                "flag" | "implied" => format!("tlw::Bit<{word}, {bit}>"),
                "optional" => format!("tlw::Opt<{word}, {bit}, {item}>"),
                _ => format!("tlw::Req<{item}>"),
            };
            fields.push(FieldView {
                name: ident.clone(),
                ty: self.naming.rust_ty(&ty),
                doc,
                kind,
                codec,
            });
        }
        let stored = fields
            .iter()
            .filter(|f| f.kind != "flags" && f.kind != "implied")
            .count();
        let (returns, returns_generic) = match &d.result {
            Ty::Generic { name } if function => (rust::camel(name), true),
            other => (self.naming.rust_ty(other), false),
        };
        let default = self.shapes.derives_default(d);
        let mut doc = Vec::new();
        if let Some(text) = &d.doc {
            doc.push(doc_text(text));
            doc.push(String::new());
        }
        let is_stored = |f: &FieldView| f.kind != "flags" && f.kind != "implied";
        let wire = rust::tuple(&fields.iter().map(|f| f.codec.clone()).collect::<Vec<_>>());
        let pattern = rust::tuple(
            &fields
                .iter()
                .map(|f| {
                    if is_stored(f) {
                        f.name.clone()
                    } else {
                        "_".into()
                    }
                })
                .collect::<Vec<_>>(),
        );
        let refs = rust::tuple(
            &fields
                .iter()
                .map(|f| match f.kind {
                    "flags" => "&()".to_string(),
                    "implied" => "&false".to_string(),
                    _ => format!("&self.{}", f.name),
                })
                .collect::<Vec<_>>(),
        );
        Ok(StructView {
            wire,
            pattern,
            refs,
            field_names: d.fields.iter().map(|f| f.name.clone()).collect(),
            name,
            tl_name,
            id: id_hex(d.id),
            doc,
            tl: d.tl.clone(),
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

    fn enum_view(&self, name: &Name) -> EnumView {
        let t = &self.schema.types[name];
        let type_camel = rust::camel(&name.name);
        let default_variant = self.shapes.default_variant(name);
        let mut variants: Vec<VariantView> = Vec::new();
        let stripped: Vec<String> = t
            .constructors
            .iter()
            .map(|c| {
                let full = rust::camel(&c.name);
                match full.strip_prefix(&type_camel) {
                    Some(rest)
                        if rest.starts_with(|ch: char| ch.is_ascii_uppercase())
                            && rust::escape(rest) == rest
                            && !PRELUDE.contains(&rest) =>
                    {
                        rest.to_string()
                    }
                    _ => full,
                }
            })
            .collect();
        for (i, c) in t.constructors.iter().enumerate() {
            let Some(def) = self.schema.constructor(c) else {
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
                path: rust::item_path(&self.naming.base, "types", c, &self.naming.ctor[c]),
                id: id_hex(def.id),
                unit: def.fields.is_empty(),
                boxed: self.shapes.recursive.contains(c) || stored_fields(def) > INLINE_FIELDS,
                default: default_variant == Some(c),
            });
        }
        let mut doc = Vec::new();
        if let Some(text) = &t.doc {
            doc.push(doc_text(text));
            doc.push(String::new());
        }
        EnumView {
            name: self.naming.ty[name].clone(),
            tl_name: name.full(),
            doc,
            default: default_variant.is_some(),
            variants,
        }
    }
}

/// Module tree of one root (`types`, `enums`, `functions`): namespace path → items.
struct Tree<T> {
    nodes: BTreeMap<Vec<String>, Vec<T>>,
}

impl<T> Tree<T> {
    fn new() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(Vec::new(), Vec::new());
        Self { nodes }
    }

    fn add(&mut self, path: Vec<String>, item: T) {
        for i in 1..path.len() {
            self.nodes.entry(path[..i].to_vec()).or_default();
        }
        self.nodes.entry(path).or_default().push(item);
    }

    fn children(&self, path: &[String]) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|k| k.len() == path.len() + 1 && k.starts_with(path))
            .map(|k| k[path.len()].clone())
            .collect()
    }
}

fn file_path(root: &str, path: &[String]) -> String {
    let plain: Vec<&str> = path.iter().map(|p| p.trim_start_matches("r#")).collect();
    if plain.is_empty() {
        format!("{root}/mod.rs")
    } else {
        format!("{root}/{}.rs", plain.join("/"))
    }
}

/// Builds the views of every file.
pub fn views(
    schema: &Schema,
    opts: &RenderOptions,
) -> Result<Vec<(String, FileView)>, RenderError> {
    let b = Builder {
        schema,
        naming: Naming::new(schema, &opts.module_path),
        shapes: Shapes::new(schema),
    };
    let mut files = Vec::new();
    let mut types: Tree<StructView> = Tree::new();
    let mut functions: Tree<StructView> = Tree::new();
    let mut enums: Tree<EnumView> = Tree::new();
    for d in &schema.constructors {
        types.add(rust::module_path(&d.name.namespace), b.struct_view(d)?);
    }
    for d in &schema.functions {
        functions.add(rust::module_path(&d.name.namespace), b.struct_view(d)?);
    }
    for name in schema.types.keys() {
        enums.add(rust::module_path(&name.namespace), b.enum_view(name));
    }
    let describe = |root: &str, path: &[String]| -> String {
        let what = match root {
            "types" => "Constructors: one struct per TL constructor",
            "enums" => "Boxed types: one enum per TL type, a variant per constructor",
            _ => "Functions: one struct per TL function, with its typed result",
        };
        if path.is_empty() {
            format!("{what}.")
        } else {
            format!("{what}, namespace `{}`.", path.join(".").replace("r#", ""))
        }
    };
    for (root, tree) in [("types", types), ("functions", functions)] {
        let children: BTreeMap<Vec<String>, Vec<String>> = tree
            .nodes
            .keys()
            .map(|k| (k.clone(), tree.children(k)))
            .collect();
        for (path, structs) in tree.nodes {
            files.push((
                "module.rs.tera".to_string(),
                FileView {
                    path: file_path(root, &path),
                    doc: describe(root, &path),
                    modules: children[&path].clone(),
                    structs,
                    enums: Vec::new(),
                    root: None,
                },
            ));
        }
    }
    let children: BTreeMap<Vec<String>, Vec<String>> = enums
        .nodes
        .keys()
        .map(|k| (k.clone(), enums.children(k)))
        .collect();
    for (path, items) in enums.nodes {
        files.push((
            "module.rs.tera".to_string(),
            FileView {
                path: file_path("enums", &path),
                doc: describe("enums", &path),
                modules: children[&path].clone(),
                structs: Vec::new(),
                enums: items,
                root: None,
            },
        ));
    }
    let mut names: Vec<(u32, String)> = schema
        .definitions()
        .map(|d| (d.id, d.name.full()))
        .collect();
    names.sort();
    files.push((
        "root.rs.tera".to_string(),
        FileView {
            // The crate root, or the `mod.rs` of a tree mounted as a module.
            path: if opts.module_path == "crate" {
                "lib.rs"
            } else {
                "mod.rs"
            }
            .into(),
            doc: String::new(),
            modules: vec!["enums".into(), "functions".into(), "types".into()],
            structs: Vec::new(),
            enums: Vec::new(),
            root: Some(RootView {
                layer: opts.layer,
                schema_file: opts.schema_file.clone(),
                names: names.into_iter().map(|(id, n)| (id_hex(id), n)).collect(),
            }),
        },
    ));
    files.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    Ok(files)
}

/// Renders and formats every file of `schema`, formatting on all cores.
pub fn render(
    schema: &Schema,
    opts: &RenderOptions,
) -> Result<(Vec<OutputFile>, RenderTimings), RenderError> {
    let mut timings = RenderTimings::default();
    let t = std::time::Instant::now();
    let views = views(schema, opts)?;
    timings.model = t.elapsed().as_secs_f64();

    let t = std::time::Instant::now();
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_templates(RUST_TEMPLATES.iter().copied())
        .map_err(|e| RenderError::Template {
            template: "templates/rust".into(),
            message: error_chain(&e),
        })?;
    let mut sources = Vec::with_capacity(views.len());
    for (template, view) in &views {
        let context = tera::Context::from_serialize(view).map_err(|e| RenderError::Template {
            template: template.clone(),
            message: error_chain(&e),
        })?;
        let source = tera
            .render(template, &context)
            .map_err(|e| RenderError::Template {
                template: template.clone(),
                message: error_chain(&e),
            })?;
        sources.push((template.clone(), view.path.clone(), source));
    }
    timings.templates = t.elapsed().as_secs_f64();

    let t = std::time::Instant::now();
    let header = format!(
        "// @generated by tlgen {} from {} ({}). Do not edit.\n",
        env!("CARGO_PKG_VERSION"),
        opts.schema_file,
        match opts.layer {
            Some(l) => format!("layer {l}"),
            None => "no layer".to_string(),
        }
    );
    let formatted = format_all(&sources)?;
    timings.format = t.elapsed().as_secs_f64();
    let files = formatted
        .into_iter()
        .map(|(path, body)| OutputFile {
            path: PathBuf::from(path),
            contents: format!("{header}{body}"),
        })
        .collect();
    Ok((files, timings))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Marks the start of an item in rendered source (a plain comment: syn drops it).
const ITEM_MARK: &str = "// tlgen:item\n";

/// Splits a rendered file into pieces of about `target` bytes at item boundaries, so that large
/// files are formatted on several cores; prettyplease prints a file as its items one after the
/// other, so the formatted pieces joined are the formatted file.
fn pieces(source: &str, target: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut last = 0;
    for (at, _) in source.match_indices(ITEM_MARK) {
        if at - start >= target && last > start {
            out.push(&source[start..last]);
            start = last;
        }
        last = at;
    }
    if source.len() - start >= target && last > start {
        out.push(&source[start..last]);
        start = last;
    }
    out.push(&source[start..]);
    out
}

/// Formats files in parallel: pieces of large files, largest first, each thread taking the next.
fn format_all(sources: &[(String, String, String)]) -> Result<Vec<(String, String)>, RenderError> {
    const PIECE: usize = 128 * 1024;
    // (file index, piece text)
    let work: Vec<(usize, &str)> = sources
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, source))| pieces(source, PIECE).into_iter().map(move |p| (i, p)))
        .collect();
    let mut order: Vec<usize> = (0..work.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(work[k].1.len()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(order.len().max(1));
    let results: Vec<Vec<(usize, Result<String, RenderError>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&w) = order.get(k) else { break };
                        let (i, piece) = work[w];
                        let (template, path, _) = &sources[i];
                        let result = rust::format(piece).map_err(|e| {
                            let line = e.span().start().line;
                            RenderError::InvalidOutput {
                                template: template.clone(),
                                file: path.clone(),
                                message: format!("{e} at line {line} of a piece"),
                                line_text: piece
                                    .lines()
                                    .nth(line.saturating_sub(1))
                                    .unwrap_or("")
                                    .to_string(),
                            }
                        });
                        done.push((w, result));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut formatted: Vec<Option<String>> = vec![None; work.len()];
    for (w, result) in results.into_iter().flatten() {
        formatted[w] = Some(result?);
    }
    let mut bodies = vec![String::new(); sources.len()];
    for ((i, _), body) in work.iter().zip(formatted) {
        bodies[*i].push_str(&body.unwrap_or_default());
    }
    Ok(sources
        .iter()
        .zip(bodies)
        .map(|((_, path, _), body)| (path.clone(), body))
        .collect())
}
