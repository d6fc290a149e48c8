//! Doc text of generated items that every language shares: wrapped prose and TL lines, and
//! the line that says how a field travels.

use crate::ir::{Field, FieldKind};

/// How wide a doc line of generated code may be (after `/// ` and the item's indentation).
const DOC_WIDTH: usize = 92;

/// Splits prose into lines of at most [`DOC_WIDTH`] characters at spaces (a longer word stands
/// alone).
pub(super) fn wrap(text: &str) -> Vec<String> {
    wrap_width(text, DOC_WIDTH)
}

/// [`wrap`] at `width` characters.
pub(super) fn wrap_width(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
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
pub(super) fn wrap_tl(tl: &str) -> Vec<String> {
    let mut lines = wrap(tl);
    for line in lines.iter_mut().skip(1) {
        line.insert_str(0, "    ");
    }
    lines
}

/// The doc line of a field that says how it travels: its TL spelling and, behind a flag, what
/// the flag bit means.
pub(super) fn field_doc(f: &Field) -> String {
    let tl = format!("`{}:{}`", f.name, f.kind);
    match &f.kind {
        FieldKind::Optional { flags, bit, .. } => {
            format!("TL: {tl}, present when bit {bit} of `{flags}` is set.")
        }
        FieldKind::FlagTrue { flags, bit } => format!("TL: {tl}, bit {bit} of `{flags}`."),
        _ => format!("TL: {tl}."),
    }
}
