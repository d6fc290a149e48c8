//! Reports: a diff as text, Markdown or JSON, and the `--fail-on` condition.

use std::fmt::Write as _;

use super::model::{Change, Diff, Item, Side, Source, Status, Wire};

/// How `tlgen diff` prints the diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Readable text.
    Text,
    /// Markdown, for a pull-request body.
    Markdown,
    /// JSON, for tools.
    Json,
}

/// When `tlgen diff` exits with status 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Any source-breaking change.
    Breaking,
    /// Any wire-incompatible change.
    Wire,
    /// Any change at all.
    Any,
    /// Never.
    Never,
}

impl Diff {
    /// Whether the `--fail-on` condition holds.
    pub fn fails(&self, on: FailOn) -> bool {
        match on {
            FailOn::Breaking => self.summary.breaking > 0,
            FailOn::Wire => self.summary.wire_incompatible > 0,
            FailOn::Any => !self.changes.is_empty(),
            FailOn::Never => false,
        }
    }

    /// `layer 227 → 228: 12 added, 3 removed, 20 changed (5 breaking, 9 wire-incompatible)`.
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let renamed = if s.renamed > 0 {
            format!("{} renamed, ", s.renamed)
        } else {
            String::new()
        };
        format!(
            "{}: {} added, {} removed, {} changed ({renamed}{} breaking, {} wire-incompatible)",
            self.sides(),
            s.added,
            s.removed,
            s.changed,
            s.breaking,
            s.wire_incompatible
        )
    }

    fn sides(&self) -> String {
        match (self.old.layer, self.new.layer) {
            (Some(a), Some(b)) => format!("layer {a} → {b}"),
            _ => {
                let label = |s: &Side| match s.layer {
                    Some(l) => format!("{} (layer {l})", s.file),
                    None => s.file.clone(),
                };
                format!("{} → {}", label(&self.old), label(&self.new))
            }
        }
    }

    /// Readable text: the summary line, then one block per item kind.
    pub fn to_text(&self) -> String {
        let mut out = self.summary_line();
        out.push('\n');
        for (item, title) in ITEM_TITLES {
            let changes: Vec<&Change> = self.changes.iter().filter(|c| c.item == item).collect();
            if changes.is_empty() {
                continue;
            }
            let _ = write!(out, "\n{title} ({}):\n", changes.len());
            for c in changes {
                let (mark, head) = headline(c);
                let _ = writeln!(out, "  {mark} {head}{}", text_tags(c.source, c.wire));
                for d in &c.details {
                    let _ = writeln!(
                        out,
                        "      · {}{}{}",
                        d.what.describe(),
                        text_tags(d.source, d.wire),
                        d.reason_suffix()
                    );
                }
            }
        }
        out
    }

    /// Markdown for a pull-request body: a title, the summary, a legend, one section per item
    /// kind with removed, renamed, changed and added items.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "## TL schema diff: {}\n\n**{}**\n",
            self.sides(),
            self.summary_line()
        );
        out.push_str(
            "\n*breaking*: code using the generated Rust may stop compiling; \
             *breaks exhaustive matches*: a new enum variant; \
             *wire-incompatible*: an id or a layout changed.\n",
        );
        for (item, title) in ITEM_TITLES {
            let changes: Vec<&Change> = self.changes.iter().filter(|c| c.item == item).collect();
            if changes.is_empty() {
                continue;
            }
            let _ = write!(out, "\n### {title} ({})\n", changes.len());
            for status in [
                Status::Removed,
                Status::Renamed,
                Status::Changed,
                Status::Added,
            ] {
                let group: Vec<&&Change> = changes.iter().filter(|c| c.status == status).collect();
                if group.is_empty() {
                    continue;
                }
                let _ = write!(out, "\n#### {} ({})\n\n", status_title(status), group.len());
                for c in group {
                    let head = match c.status {
                        Status::Added | Status::Removed => format!("`{}`", headline(c).1),
                        Status::Renamed => format!(
                            "`{}` → `{}`",
                            c.old_name.as_deref().unwrap_or_default(),
                            c.name
                        ),
                        Status::Changed => format!("`{}`", c.name),
                    };
                    let _ = writeln!(out, "- {head}{}", markdown_tags(c.source, c.wire));
                    for d in &c.details {
                        let _ = writeln!(
                            out,
                            "  - {}{}{}",
                            d.what.describe(),
                            markdown_tags(d.source, d.wire),
                            d.reason_suffix()
                        );
                    }
                }
            }
        }
        out
    }

    /// The diff in `format`, ending with a newline.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Markdown => self.to_markdown(),
            Format::Json => {
                // Serializing plain structs of strings and numbers cannot fail.
                let mut json = self.to_json().unwrap_or_default();
                json.push('\n');
                json
            }
        }
    }

    /// Pretty-printed JSON of the whole diff.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

const ITEM_TITLES: [(Item, &str); 3] = [
    (Item::Type, "Types"),
    (Item::Constructor, "Constructors"),
    (Item::Function, "Functions"),
];

fn status_title(s: Status) -> &'static str {
    match s {
        Status::Removed => "Removed",
        Status::Renamed => "Renamed",
        Status::Changed => "Changed",
        Status::Added => "Added",
    }
}

/// A mark and one line naming the change.
fn headline(c: &Change) -> (&'static str, String) {
    match c.status {
        Status::Added => ("+", c.new_tl.clone().unwrap_or_else(|| c.name.clone())),
        Status::Removed => ("-", c.old_tl.clone().unwrap_or_else(|| c.name.clone())),
        Status::Changed => (
            "~",
            format!(
                "{}{}",
                c.name,
                c.new_id
                    .as_deref()
                    .map(|i| format!(" {i}"))
                    .unwrap_or_default()
            ),
        ),
        Status::Renamed => (
            "~",
            format!(
                "{} → {}{}",
                c.old_name.as_deref().unwrap_or_default(),
                c.name,
                c.new_id
                    .as_deref()
                    .map(|i| format!(" {i}"))
                    .unwrap_or_default()
            ),
        ),
    }
}

fn tags(source: Source, wire: Wire) -> Vec<&'static str> {
    let mut t = Vec::new();
    match source {
        Source::Compatible => {}
        Source::ExhaustiveMatch => t.push("breaks exhaustive matches"),
        Source::Breaking => t.push("breaking"),
    }
    if wire == Wire::Incompatible {
        t.push("wire-incompatible");
    }
    t
}

fn text_tags(source: Source, wire: Wire) -> String {
    let t = tags(source, wire);
    if t.is_empty() {
        String::new()
    } else {
        format!("  [{}]", t.join(", "))
    }
}

fn markdown_tags(source: Source, wire: Wire) -> String {
    let t: Vec<String> = tags(source, wire)
        .into_iter()
        .map(|t| {
            if t == "wire-incompatible" {
                t.to_string()
            } else {
                format!("**{t}**")
            }
        })
        .collect();
    if t.is_empty() {
        String::new()
    } else {
        format!(" — {}", t.join(", "))
    }
}
