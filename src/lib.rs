//! tlgen: typed Rust bindings from Telegram TL schemas.
pub mod diag;
pub mod ids;
pub mod ir;
pub mod parse;

use diag::{Diagnostic, Severity, SourceMap};

/// Parses and checks schema `text` read from `file`: the schema when it has no error, and every
/// diagnostic (errors and warnings) in source order.
pub fn check(file: &str, text: &str) -> (Option<ir::Schema>, Vec<Diagnostic>) {
    let map = SourceMap::new(file, text);
    let (ast, mut diags) = parse::parse(&map, text);
    let (schema, more) = ir::build(&map, text, &ast);
    diags.extend(more);
    diags.sort_by_key(|d| (d.line, d.column));
    let schema = schema.filter(|_| !diags.iter().any(|d| d.severity == Severity::Error));
    (schema, diags)
}
