//! Reading and checking a schema file for a comparison.

use std::path::{Path, PathBuf};

use crate::diag::Severity;
use crate::ir::Schema;

/// Why `tlgen diff` could not compare.
#[derive(Debug)]
pub enum DiffError {
    /// A schema file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A schema has errors: every diagnostic of the file.
    Schema {
        /// The file.
        path: PathBuf,
        /// Errors and warnings, in source order.
        diagnostics: Vec<crate::diag::Diagnostic>,
    },
}

impl std::fmt::Display for DiffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Schema { path, diagnostics } => {
                for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
                    writeln!(f, "{d}\n")?;
                }
                let n = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                write!(
                    f,
                    "{n} error{} in {}; nothing was compared",
                    if n == 1 { "" } else { "s" },
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for DiffError {}

/// Reads and checks a schema file; `layer` overrides its `// LAYER N` line.
pub fn load(path: &Path, layer: Option<i32>) -> Result<Schema, DiffError> {
    let text = std::fs::read_to_string(path).map_err(|source| DiffError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (schema, diagnostics) = crate::check(&path.to_string_lossy(), &text);
    let Some(mut schema) = schema else {
        return Err(DiffError::Schema {
            path: path.to_path_buf(),
            diagnostics,
        });
    };
    if layer.is_some() {
        schema.layer = layer;
    }
    Ok(schema)
}
