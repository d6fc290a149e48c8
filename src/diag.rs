//! Diagnostics: an error or warning about a schema, located by file, line and column, shown with its source line and a caret.

use std::fmt;

/// Whether a diagnostic stops generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The schema is rejected.
    Error,
    /// Reported, generation goes on.
    Warning,
}

/// One finding about a schema file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What was expected and what came, in lower case.
    pub message: String,
    /// The schema file as given on the command line.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The whole source line.
    pub source_line: String,
    /// How many characters the caret underlines (at least 1).
    pub width: usize,
}

/// Maps byte offsets of one source text to lines and columns.
pub struct SourceMap<'a> {
    file: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceMap<'a> {
    /// Indexes `text`, read from `file`.
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            file,
            text,
            line_starts,
        }
    }

    /// A diagnostic at byte `offset` underlining `len` bytes.
    pub fn diagnostic(
        &self,
        severity: Severity,
        offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_idx = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line_idx];
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let source_line = self.text[start..end].trim_end_matches('\r').to_string();
        let column = self.text[start..offset].chars().count() + 1;
        let mut stop = (offset + len).min(end).max(offset);
        while !self.text.is_char_boundary(stop) {
            stop += 1;
        }
        let width = self.text[offset..stop].chars().count().max(1);
        Diagnostic {
            severity,
            message: message.into(),
            file: self.file.to_string(),
            line: line_idx + 1,
            column,
            source_line,
            width,
        }
    }

    /// The 1-based line of byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }
}

/// The candidate nearest to `word` by edit distance (letter case counts half), when it is near
/// enough to be a likely typo: at most a third of the word's characters differ. Ties go to the
/// first candidate in order.
/// Names longer than 64 characters (`MAX_SUGGESTED_LEN`) get none.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    if len > MAX_SUGGESTED_LEN {
        return None;
    }
    let limit = 2 * len.div_ceil(3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        // Each character of length difference is an edit at least.
        .filter(|c| 2 * c.chars().count().abs_diff(len) <= limit)
        .filter_map(|c| edit_distance(word, c, limit).map(|d| (d, c)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The longest name [`nearest`] looks for: its cost grows with the square of the length.
const MAX_SUGGESTED_LEN: usize = 64;

/// Levenshtein distance in half steps (2 per edit, 1 for a change of letter case only), or
/// `None` as soon as it must exceed `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).map(|j| 2 * j).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = 2 * (i + 1);
        for (j, &cb) in b.iter().enumerate() {
            let substitute = if ca == cb {
                0
            } else if ca.eq_ignore_ascii_case(&cb) {
                1
            } else {
                2
            };
            let next = (diagonal + substitute).min(row[j] + 2).min(row[j + 1] + 2);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
        // A row's minimum never falls in the rows below it.
        if row.iter().min().is_some_and(|&m| m > limit) {
            return None;
        }
    }
    Some(row[b.len()]).filter(|&d| d <= limit)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let gutter = self.line.to_string().len();
        writeln!(f, "{label}: {}", self.message)?;
        writeln!(
            f,
            "{:gutter$}--> {}:{}:{}",
            "", self.file, self.line, self.column
        )?;
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.line, self.source_line)?;
        write!(
            f,
            "{:gutter$} | {:pad$}{}",
            "",
            "",
            "^".repeat(self.width),
            pad = self.column - 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_name() {
        let names = ["InputPeer", "InputUser", "Peer", "User"];
        assert_eq!(nearest("InputPee", names), Some("InputPeer"));
        assert_eq!(nearest("inputpeer", names), Some("InputPeer"));
        assert_eq!(nearest("Usr", names), Some("User"));
        assert_eq!(nearest("Message", names), None);
        assert_eq!(nearest("Chat", names), None);
    }

    #[test]
    fn shows_file_line_column_and_caret() {
        let text = "a = A;\nfoo x:Bar = Foo;\n";
        let map = SourceMap::new("t.tl", text);
        let d = map.diagnostic(Severity::Error, 13, 3, "unknown type `Bar`");
        assert_eq!((d.line, d.column), (2, 7));
        assert_eq!(
            d.to_string(),
            "error: unknown type `Bar`\n --> t.tl:2:7\n  |\n2 | foo x:Bar = Foo;\n  |       ^^^"
        );
    }
}
