//! Render stage: IR to a language-neutral view model, through the target language's tera templates, to formatted files.
//!
//! The view model (`FileView` and the structs below) holds plain strings and flags: what is
//! generated and how each field travels on the wire. A target language supplies its naming rules
//! (`rust.rs`) and a template folder (`templates/<lang>/`); nothing else here is language-specific.

pub mod rust;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::ir::Section;
use crate::ir::{Definition, FieldKind, Name, Schema, Ty};
use crate::shapes::Shapes;

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
    /// Rust path of the runtime crate ([`DEFAULT_RUNTIME_PATH`], or where a crate re-exports it).
    pub runtime_path: String,
}

/// How generated code names the runtime crate unless told otherwise.
pub const DEFAULT_RUNTIME_PATH: &str = "::tlgen_runtime";

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
    /// The path whose `enums` and `types` modules the file imports, so that it names items
    /// `enums::Peer` and `types::User`; empty when items are named by their full path (a
    /// namespace module called `enums` or `types` would clash with the imports).
    pub uses: String,
    /// Rust path of the runtime crate.
    pub runtime: String,
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
    /// The version of the runtime's interface for generated code that this code needs
    /// ([`rust::RUNTIME_API`]).
    pub runtime_api: u32,
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
    /// The TL line, wrapped (continuation lines indented).
    pub tl: Vec<String>,
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
    /// TL names of the wire fields, in order, separated by spaces.
    pub field_names: String,
    /// The pattern that takes the read record apart (`from_wire`'s argument).
    pub pattern: String,
    /// The stored fields, as the value built from the pattern lists them (`a, b, `).
    pub init: String,
    /// The tuple of references written out (`to_wire`'s body).
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
    /// Whether the struct stores it (not a flags word, not an implied bit).
    pub stored: bool,
    /// The field's wire codec (`tl::wire::Field`): the item itself for a required field.
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
    /// Whether it implements `Default` (it has a constructor without fields).
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
    /// View model (wall time).
    pub model: f64,
    /// Templates and formatting together, on all threads (wall time).
    pub render: f64,
    /// Templates: the time of all threads added up.
    pub templates: f64,
    /// syn + prettyplease: the time of all threads added up.
    pub format: f64,
    /// Threads that rendered and formatted.
    pub threads: usize,
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
    /// What item paths start with: the path of the generated tree (`crate`), or nothing when
    /// module files import `enums` and `types` (see [`FileView::uses`]).
    prefix: String,
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
        // A namespace module named like one of the imported roots would clash with the import.
        let clash = schema
            .definitions()
            .map(|d| &d.name)
            .chain(schema.types.keys())
            .any(|n| {
                rust::module_path(&n.namespace)
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

    fn rust_ty(&self, t: &Ty) -> String {
        rust::ty(
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

fn item_name(tl: &str) -> String {
    let n = rust::camel(tl);
    if PRELUDE.contains(&n.as_str()) {
        format!("{n}_")
    } else {
        n
    }
}

/// How wide a doc line of generated code may be (after `/// ` and the item's indentation).
const DOC_WIDTH: usize = 92;

/// Splits prose into lines of at most [`DOC_WIDTH`] characters at spaces (a longer word stands
/// alone).
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > DOC_WIDTH {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A TL definition on lines of at most [`DOC_WIDTH`] characters, broken between its words, the
/// lines after the first indented.
fn wrap_tl(tl: &str) -> Vec<String> {
    let mut lines = wrap(tl);
    for line in lines.iter_mut().skip(1) {
        line.insert_str(0, "    ");
    }
    lines
}

/// The doc line of a field that says how it travels: its TL spelling and, behind a flag, what
/// the flag bit means.
fn field_doc(f: &crate::ir::Field) -> String {
    let tl = format!("`{}:{}`", f.name, f.kind);
    match &f.kind {
        FieldKind::Optional { flags, bit, .. } => {
            format!("TL: {tl}, present when bit {bit} of `{flags}` is set.")
        }
        FieldKind::FlagTrue { flags, bit } => format!("TL: {tl}, bit {bit} of `{flags}`."),
        _ => format!("TL: {tl}."),
    }
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
                _ => {
                    return Err(unsupported(format!(
                        "more than 4 flags words (at `{}`)",
                        f.name
                    )))
                }
            };
            let boxed = self.shapes.field_boxed(d, i);
            let mut item = rust::item_codec(&ty, &spell);
            let mut rust_ty = self.naming.rust_ty(&ty);
            if boxed {
                item = format!("tlw::Heap<{item}>");
                rust_ty = format!("Box<{rust_ty}>");
            }
            // Bits and words are numbers as types (`tlw::N3`); flags word 0 is the default of
            // the codecs' word parameter.
            let (bit, word) = (rust::nat(bit), rust::nat(word as u32));
            let codec = match (kind, word.as_str()) {
                ("flags", "tlw::N0") => "tlw::Flags".to_string(),
                ("flags", _) => format!("tlw::Flags<{word}>"),
                ("implied", _) => "tlw::Implied".to_string(),
                ("flag", "tlw::N0") => format!("tlw::Bit<{bit}>"),
                ("flag", _) => format!("tlw::Bit<{bit}, {word}>"),
                ("optional", "tlw::N0") => format!("tlw::Opt<{item}, {bit}>"),
                ("optional", _) => format!("tlw::Opt<{item}, {bit}, {word}>"),
                _ => item,
            };
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
        let (pattern, init, refs) = {
            let pattern: Vec<String> = (fields.iter())
                .map(|f| if f.stored { f.name.clone() } else { "_".into() })
                .collect();
            let refs: Vec<String> = (fields.iter())
                .map(|f| match f.kind {
                    "flags" | "implied" => "&()".to_string(),
                    _ => format!("&self.{}", f.name),
                })
                .collect();
            let init = (fields.iter().filter(|f| f.stored))
                .map(|f| format!("{}, ", f.name))
                .collect();
            (rust::record_pattern(&pattern), init, rust::tuple(&refs))
        };
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
                let rest = rust::strip_shared_words(&full, &type_camel);
                if !rest.is_empty() && rust::escape(rest) == rest && !PRELUDE.contains(&rest) {
                    rest.to_string()
                } else {
                    full
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
                path: rust::item_path(&self.naming.prefix, "types", c, &self.naming.ctor[c]),
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
    let (naming, shapes) = std::thread::scope(|scope| {
        let shapes = scope.spawn(|| Shapes::new(schema));
        let naming = Naming::new(schema, &opts.module_path);
        (naming, join(shapes))
    });
    let b = Builder {
        schema,
        naming,
        shapes,
    };
    let uses = if b.naming.prefix.is_empty() {
        opts.module_path.clone()
    } else {
        String::new()
    };
    let mut files = Vec::new();
    let mut types: Tree<StructView> = Tree::new();
    let mut functions: Tree<StructView> = Tree::new();
    let mut enums: Tree<EnumView> = Tree::new();
    let definitions: Vec<&Definition> = schema.definitions().collect();
    let type_names: Vec<&Name> = schema.types.keys().collect();
    let (structs, enum_views) = std::thread::scope(|scope| {
        let enum_views = scope.spawn(|| {
            type_names
                .iter()
                .map(|name| b.enum_view(name))
                .collect::<Vec<_>>()
        });
        let structs = parallel_map(&definitions, |d| b.struct_view(d));
        (structs, join(enum_views))
    });
    for (d, view) in definitions.iter().zip(structs) {
        let tree = match d.section {
            Section::Types => &mut types,
            Section::Functions => &mut functions,
        };
        tree.add(rust::module_path(&d.name.namespace), view?);
    }
    for (name, view) in type_names.iter().zip(enum_views) {
        enums.add(rust::module_path(&name.namespace), view);
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
                    uses: uses.clone(),
                    runtime: opts.runtime_path.clone(),
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
                uses: uses.clone(),
                runtime: opts.runtime_path.clone(),
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
            uses: String::new(),
            runtime: opts.runtime_path.clone(),
            structs: Vec::new(),
            enums: Vec::new(),
            root: Some(RootView {
                layer: opts.layer,
                schema_file: opts.schema_file.clone(),
                names: names.into_iter().map(|(id, n)| (id_hex(id), n)).collect(),
                runtime_api: rust::RUNTIME_API,
            }),
        },
    ));
    files.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    Ok(files)
}

/// Renders and formats every file of `schema` on all cores: files are cut into chunks of
/// consecutive items, and each thread takes the next chunk (largest first), renders it and formats
/// it. prettyplease prints a file as its items one after the other, so the formatted chunks joined
/// are the formatted file.
pub fn render(
    schema: &Schema,
    opts: &RenderOptions,
) -> Result<(Vec<OutputFile>, RenderTimings), RenderError> {
    render_in_chunks(schema, opts, CHUNK)
}

/// [`render`], with chunks of about `chunk` estimated bytes.
fn render_in_chunks(
    schema: &Schema,
    opts: &RenderOptions,
    chunk: usize,
) -> Result<(Vec<OutputFile>, RenderTimings), RenderError> {
    let mut timings = RenderTimings::default();
    let t = Instant::now();
    let views = views(schema, opts)?;
    timings.model = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.add_raw_templates(RUST_TEMPLATES.iter().copied())
        .map_err(|e| RenderError::Template {
            template: "templates/rust".into(),
            message: error_chain(&e),
        })?;
    let mut tasks: Vec<(usize, Chunk<'_>, usize)> = Vec::new();
    for (i, (_, view)) in views.iter().enumerate() {
        tasks.extend(
            chunks(view, chunk)
                .into_iter()
                .map(|(c, cost)| (i, c, cost)),
        );
    }
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(tasks[k].2));
    let next = AtomicUsize::new(0);
    let threads = threads().min(order.len().max(1));
    let work = || {
        let mut done = Vec::new();
        let (mut rendering, mut formatting) = (Duration::ZERO, Duration::ZERO);
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&task) = order.get(k) else { break };
            let (file, chunk, _) = &tasks[task];
            let template = &views[*file].0;
            let t = Instant::now();
            let source = render_chunk(&tera, template, chunk);
            rendering += t.elapsed();
            let t = Instant::now();
            let result = source.and_then(|source| format_chunk(template, chunk.path, &source));
            formatting += t.elapsed();
            done.push((task, result));
        }
        (done, rendering, formatting)
    };
    let results = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut results = vec![work()];
        results.extend(others.into_iter().map(join));
        results
    });
    let mut formatted: Vec<Option<Result<String, RenderError>>> =
        (0..tasks.len()).map(|_| None).collect();
    for (done, rendering, formatting) in results {
        timings.templates += rendering.as_secs_f64();
        timings.format += formatting.as_secs_f64();
        for (task, result) in done {
            formatted[task] = Some(result);
        }
    }
    timings.threads = threads;
    let header = format!(
        "// @generated by tlgen {} from {} ({}). Do not edit.\n",
        env!("CARGO_PKG_VERSION"),
        opts.schema_file,
        match opts.layer {
            Some(l) => format!("layer {l}"),
            None => "no layer".to_string(),
        }
    );
    let mut bodies: Vec<String> = views.iter().map(|_| header.clone()).collect();
    // In task order, which is file order and, within a file, item order; the first error wins.
    for ((file, chunk, _), result) in tasks.iter().zip(formatted) {
        match result {
            Some(result) => bodies[*file].push_str(&result?),
            // Not reached: each task index is handed out once, and the threads run until none
            // is left (a panic in one goes on in this thread).
            None => {
                return Err(RenderError::Template {
                    template: views[*file].0.clone(),
                    message: format!("a chunk of {} was not rendered", chunk.path),
                })
            }
        }
    }
    timings.render = t.elapsed().as_secs_f64();
    let files = views
        .iter()
        .zip(bodies)
        .map(|((_, view), contents)| OutputFile {
            path: PathBuf::from(&view.path),
            contents,
        })
        .collect();
    Ok((files, timings))
}

/// Waits for a thread; a panic in it (a bug) goes on in the caller.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The number of threads to use.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `items.iter().map(f).collect()`, on all cores: threads take runs of items in turn.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const RUN: usize = 64;
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let start = next.fetch_add(RUN, Ordering::Relaxed);
            let Some(run) = items.get(start..(start + RUN).min(items.len())) else {
                break;
            };
            if run.is_empty() {
                break;
            }
            done.push((start, run.iter().map(&f).collect::<Vec<R>>()));
        }
        done
    };
    let mut runs = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads()).map(|_| scope.spawn(work)).collect();
        let mut runs = work();
        runs.extend(others.into_iter().flat_map(join));
        runs
    });
    runs.sort_by_key(|(start, _)| *start);
    runs.into_iter().flat_map(|(_, run)| run).collect()
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

/// The estimated size of a chunk, in bytes of rendered source.
const CHUNK: usize = 32 * 1024;

/// A run of consecutive items of one file: what one thread renders and formats at a time. Its
/// fields are those of [`FileView`], for the same templates.
#[derive(Debug, Serialize)]
struct Chunk<'a> {
    /// Whether the chunk opens its file (module doc, imports, submodules, crate-root items).
    first: bool,
    path: &'a str,
    doc: &'a str,
    modules: &'a [String],
    uses: &'a str,
    runtime: &'a str,
    structs: &'a [StructView],
    enums: &'a [EnumView],
    root: Option<&'a RootView>,
}

/// Roughly how many bytes of source a struct renders to.
fn struct_cost(s: &StructView) -> usize {
    400 + s.tl.iter().map(String::len).sum::<usize>() + 160 * s.fields.len()
}

/// Roughly how many bytes of source an enum renders to.
fn enum_cost(e: &EnumView) -> usize {
    600 + 320 * e.variants.len()
}

/// Cuts a file into chunks of about `target` estimated bytes, in item order, with their costs.
fn chunks<'a>(view: &'a FileView, target: usize) -> Vec<(Chunk<'a>, usize)> {
    fn runs<T>(items: &[T], cost: impl Fn(&T) -> usize, target: usize) -> Vec<(&[T], usize)> {
        let mut out = Vec::new();
        let (mut start, mut sum) = (0, 0);
        for (i, item) in items.iter().enumerate() {
            sum += cost(item);
            if sum >= target {
                out.push((&items[start..=i], sum));
                (start, sum) = (i + 1, 0);
            }
        }
        if start < items.len() {
            out.push((&items[start..], sum));
        }
        out
    }
    let chunk = |first: bool, structs: &'a [StructView], enums: &'a [EnumView]| Chunk {
        first,
        path: &view.path,
        doc: &view.doc,
        modules: &view.modules,
        uses: &view.uses,
        runtime: &view.runtime,
        structs,
        enums,
        root: view.root.as_ref(),
    };
    let mut out: Vec<(Chunk<'a>, usize)> = Vec::new();
    for (structs, cost) in runs(&view.structs, struct_cost, target) {
        out.push((chunk(out.is_empty(), structs, &[]), cost));
    }
    for (enums, cost) in runs(&view.enums, enum_cost, target) {
        out.push((chunk(out.is_empty(), &[], enums), cost));
    }
    if out.is_empty() {
        let cost = 1000 + view.root.as_ref().map_or(0, |r| 40 * r.names.len());
        out.push((chunk(true, &[], &[]), cost));
    }
    out
}

fn render_chunk(
    tera: &tera::Tera,
    template: &str,
    chunk: &Chunk<'_>,
) -> Result<String, RenderError> {
    let failed = |e: tera::Error| RenderError::Template {
        template: template.to_string(),
        message: error_chain(&e),
    };
    let context = tera::Context::from_serialize(chunk).map_err(failed)?;
    tera.render(template, &context).map_err(failed)
}

fn format_chunk(template: &str, path: &str, source: &str) -> Result<String, RenderError> {
    rust::format(source).map_err(|e| {
        let line = e.span().start().line;
        RenderError::InvalidOutput {
            template: template.to_string(),
            file: path.to_string(),
            message: format!("{e} at line {line} of a piece"),
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
    use std::path::Path;

    /// Variants are boxed by the estimated size of their struct (more than 24 bytes), and
    /// always when the constructor is part of a cycle.
    /// Rendering and formatting a file in chunks gives the text of the whole file formatted at
    /// once, for every fixture: one item per chunk against one chunk per file.
    #[test]
    fn chunks_joined_are_the_whole_file_formatted() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "tl") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let (schema, _) = crate::check("f.tl", &text);
            let schema = schema.unwrap();
            let opts = super::RenderOptions {
                schema_file: "f.tl".into(),
                layer: Some(1),
                module_path: "crate".into(),
                runtime_path: super::DEFAULT_RUNTIME_PATH.into(),
            };
            let (small, _) = super::render_in_chunks(&schema, &opts, 1).unwrap();
            let (whole, _) = super::render_in_chunks(&schema, &opts, usize::MAX).unwrap();
            assert_eq!(small, whole, "{}", path.display());
            checked += 1;
        }
        assert!(checked >= 10, "fixtures are missing");
    }

    /// A namespace module named `types` or `enums` would clash with the imports of those roots:
    /// items are then named by their full paths, and nothing is imported.
    #[test]
    fn a_namespace_named_like_an_imported_root_keeps_full_paths() {
        let text =
            "types.point#1 x:int = types.Point;\nline#2 a:types.Point b:%types.point = Line;\n";
        let out = crate::generate_source("t.tl", text, Some(1)).unwrap();
        let types = out
            .files
            .iter()
            .find(|f| f.path == Path::new("types/mod.rs"))
            .unwrap();
        assert!(!types.contents.contains("use crate::{enums, types}"));
        assert!(types
            .contents
            .contains("pub a: crate::enums::types::Point,"));
        assert!(types
            .contents
            .contains("tlw::BareOf<crate::types::types::Point>"));
        let plain = crate::generate_source("t.tl", "point#1 x:int = Point;\n", Some(1)).unwrap();
        assert!(plain
            .files
            .iter()
            .all(|f| f.path == Path::new("lib.rs")
                || f.contents.contains("use crate::{enums, types};")));
    }
}
