//! Formatting of generated Rust: syn parses, prettyplease prints.
//!
//! A third of the generated source is doc comments, which prettyplease prints back as they
//! came (`///` and the text, trailing spaces trimmed) at the indentation of what they document.
//! syn still tokenizes and parses each line into an attribute (for api.tl's output, 5% of the
//! instructions of a whole generation, measured with callgrind), so each run of `///` lines is
//! lifted out before parsing, a one-line marker stands in its place, and after printing each marker
//! line becomes the lines it stood for, at the marker's indentation. The result is the text
//! prettyplease gives for the whole source (tested below on every fixture, and by the snapshots);
//! a piece whose docs could read differently to the lexer (a carriage return, a line that is
//! not a doc comment but looks like one) is formatted whole.

/// What a marker line holds after the `///`: `MARK` and the index of its run of doc lines.
const MARK: &str = "\u{1d}tlgen-doc:";

/// Formats one generated Rust file: parsed by syn, printed by prettyplease.
pub fn format(source: &str) -> Result<String, syn::Error> {
    match lift_docs(source) {
        Some((lifted, runs)) => {
            let printed = unparse(&lifted)?;
            match restore_docs(&printed, &runs) {
                Some(text) => Ok(text),
                // Not reached for generated code (each marker is printed once, in order); the
                // whole source is formatted instead.
                None => unparse(source),
            }
        }
        None => unparse(source),
    }
}

fn unparse(source: &str) -> Result<String, syn::Error> {
    syn::parse_file(source).map(|file| prettyplease::unparse(&file))
}

/// The text after `///` when `line` is an outer doc comment line that prettyplease prints back
/// as `///` and that text: not `////` (a plain comment), not starting with `/` after the three
/// slashes, no carriage return.
fn doc_text(line: &str) -> Option<&str> {
    let text = line.trim_start().strip_prefix("///")?;
    if text.starts_with('/') || text.contains('\r') {
        return None;
    }
    Some(text)
}

/// `source` with each run of doc lines replaced by one marker line, and the runs' texts; `None`
/// when there is nothing to lift or a doc line could read differently to the lexer.
fn lift_docs(source: &str) -> Option<(String, Vec<Vec<&str>>)> {
    let mut out = String::with_capacity(source.len() / 2);
    let mut runs: Vec<Vec<&str>> = Vec::new();
    let mut in_run = false;
    for line in source.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.contains(MARK) {
            return None;
        }
        match doc_text(body) {
            Some(text) => {
                if !in_run {
                    out.push_str("///");
                    out.push_str(MARK);
                    out.push_str(&runs.len().to_string());
                    out.push('\n');
                    runs.push(Vec::new());
                    in_run = true;
                }
                runs.last_mut()?.push(text);
            }
            None => {
                // A line that starts a doc comment but is not one of those above: leave the
                // whole piece to the formatter.
                if body.trim_start().starts_with("///") && !body.trim_start().starts_with("////") {
                    return None;
                }
                in_run = false;
                out.push_str(line);
            }
        }
    }
    if runs.is_empty() {
        None
    } else {
        Some((out, runs))
    }
}

/// `printed` with each marker line replaced by its run of doc lines; `None` unless the markers
/// come back each once and in order.
fn restore_docs(printed: &str, runs: &[Vec<&str>]) -> Option<String> {
    let extra: usize = runs.iter().flatten().map(|t| t.len() + 8).sum();
    let mut out = String::with_capacity(printed.len() + extra);
    let mut next = 0;
    for line in printed.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let trimmed = body.trim_start();
        let Some(index) = trimmed
            .strip_prefix("///")
            .and_then(|t| t.strip_prefix(MARK))
        else {
            if body.contains(MARK) {
                return None;
            }
            out.push_str(line);
            continue;
        };
        if index.parse::<usize>().ok()? != next {
            return None;
        }
        let indent = &body[..body.len() - trimmed.len()];
        for text in runs.get(next)? {
            out.push_str(indent);
            out.push_str("///");
            out.push_str(text.trim_end_matches(' '));
            out.push('\n');
        }
        next += 1;
    }
    (next == runs.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_lifted_and_put_back_read_as_prettyplease_prints_them() {
        let source = "/// A thing.  \n///\n///   indented `code` \\ \"quoted\"\n#[derive(Debug)]\npub struct A {\n/// The field.\n        pub x: i32,\n    /// Second.\n    /// More.\n pub y: Option<String>,\n}\n//// not a doc\nimpl A { /// inner\nfn f(&self) {} }\n";
        let lifted = format(source).unwrap();
        let whole = unparse(source).unwrap();
        assert_eq!(lifted, whole);
        assert!(
            lifted.contains("    /// Second.\n    /// More.\n"),
            "{lifted}"
        );
    }

    #[test]
    fn a_piece_with_no_docs_or_odd_docs_is_formatted_whole() {
        for source in [
            "pub struct A;\n",
            "/// has a \r carriage return\npub struct A;\n",
            "///// slashes\npub struct A;\n",
            "/// mentions \u{1d}tlgen-doc:0\npub struct A;\n",
        ] {
            assert_eq!(format(source).ok(), unparse(source).ok(), "{source:?}");
        }
    }

    /// Every fixture, rendered: the lifted path gives the text of formatting the whole.
    #[test]
    fn every_fixture_formats_as_a_whole() {
        for (path, schema, opts) in crate::render::fixture_schemas() {
            let (files, _) = crate::render::render(&schema, &opts).unwrap();
            for file in files {
                // Every line moved to column 0 (docs and code alike): both paths indent it back
                // to the formatted file.
                let flat: String = file
                    .contents
                    .lines()
                    .map(|l| format!("{}\n", l.trim_start()))
                    .collect();
                let place = format!("{} {}", path.display(), file.path.display());
                // The `// @generated` line is put above the formatted text (syn drops comments).
                let (header, body) = file.contents.split_once('\n').unwrap();
                assert!(header.starts_with("// @generated"), "{place}");
                assert_eq!(format(&flat).unwrap(), body, "{place}");
                assert_eq!(unparse(&flat).unwrap(), body, "{place}");
            }
        }
    }
}
