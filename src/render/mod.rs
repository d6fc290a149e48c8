//! Render stage: IR to a view model, through the target language's tera templates, to
//! formatted files.
//!
//! - [`view`]: the view model, what the templates see: plain strings and flags, what is generated
//!   and how each field travels on the wire.
//! - `build`: one definition or type to its view. Every name, type and codec in a view is
//!   spelled by the language's rules ([`crate::lang::rust`]: names, type spellings, field codecs,
//!   the struct conversions); which values are boxed and which have a default comes from
//!   [`crate::shapes`].
//! - `files`: the module tree, which file holds which items.
//! - `output`: templates and formatting, in chunks on all cores (`parallel`).
//! - `text`: doc text every language shares (wrapped prose, TL lines, a field's TL spelling).
//! - `python`: the Python target's views and rendering (its rules are
//!   [`crate::lang::python`], its templates `templates/python/`); [`render_lang`] picks the
//!   target by [`crate::lang::Lang`].

mod build;
mod files;
mod output;
mod parallel;
mod python;
mod text;
pub mod view;
mod visit;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::ir::Schema;

pub use files::views;
pub use view::{EnumView, FieldView, FileView, RootView, StructView, VariantView};
pub use visit::visitor;

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

/// Renders and formats every file of `schema` on all cores: files are cut into chunks of
/// consecutive items, and each thread takes the next chunk (largest first), renders it and formats
/// it. prettyplease prints a file as its items one after the other, so the formatted chunks joined
/// are the formatted file.
pub fn render(
    schema: &Schema,
    opts: &RenderOptions,
) -> Result<(Vec<OutputFile>, RenderTimings), RenderError> {
    output::render_in_chunks(schema, opts, output::CHUNK)
}

/// [`render`] for target language `lang`: Rust as [`render`] does it; Python through
/// `templates/python/`, whose output needs no formatter.
pub fn render_lang(
    schema: &Schema,
    opts: &RenderOptions,
    lang: crate::lang::Lang,
) -> Result<(Vec<OutputFile>, RenderTimings), RenderError> {
    match lang {
        crate::lang::Lang::Rust => render(schema, opts),
        crate::lang::Lang::Python => python::render(schema, opts),
    }
}

/// Each schema of `tests/fixtures/*.tl`, checked, with the render options the unit tests use.
#[cfg(test)]
pub(crate) fn fixture_schemas() -> Vec<(std::path::PathBuf, Schema, RenderOptions)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "tl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let (schema, _) = crate::check("f.tl", &text);
        let opts = RenderOptions {
            schema_file: "f.tl".into(),
            layer: Some(1),
            module_path: "crate".into(),
            runtime_path: DEFAULT_RUNTIME_PATH.into(),
        };
        out.push((path, schema.unwrap(), opts));
    }
    assert!(out.len() >= 10, "fixtures are missing");
    out
}
