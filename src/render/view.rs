//! The view model: what the templates of a language see, one [`FileView`] per generated file.

use serde::Serialize;

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
    /// ([`crate::lang::rust::RUNTIME_API`]).
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
