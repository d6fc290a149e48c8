//! Schema diff: what changed between two layers, classified for users of the generated Rust.
//!
//! `tlgen diff OLD.tl NEW.tl` checks both schemas, matches their definitions and prints every
//! added, removed, renamed and changed constructor, function and type, each classified twice:
//! for the wire (can two peers still exchange it?) and for the source of a crate that uses the
//! generated Rust (does it still compile?).
//!
//! # Matching
//!
//! Constructors and functions are matched by full name first; an unmatched old definition and
//! an unmatched new one with the same id are a *rename*; the rest are *removed* or *added*.
//! Fields of a matched pair are matched by name; an unmatched old field and an unmatched new
//! field at the same position with the same TL type are a *field rename*. A boxed type changes
//! when its set of constructors (its enum's variants) or its `Default` variant changes.
//!
//! # Classification rules
//!
//! Source (the generated Rust: a struct per constructor and function with fields in order,
//! `flags:#` words not stored, `flags.N?true` as `bool`, other optional fields as `Option<T>`,
//! `Default` derived when every stored field has a default; an exhaustive enum per boxed type):
//! *breaking* means code written against the old bindings may stop compiling. Wire: bytes that
//! code built from one schema writes for the item are read the same by code built from the
//! other (same id, same layout). `Default` is decided as the Rust renderer decides it (the
//! same fixed point, computed here on both schemas).
//!
//! | change | source | wire |
//! |---|---|---|
//! | constructor, function or type added | compatible | compatible |
//! | constructor, function or type removed | breaking | incompatible |
//! | definition renamed, same id | breaking (compatible if the Rust name is the same) | compatible |
//! | id changed | compatible (only `CONSTRUCTOR_ID` changes) | incompatible |
//! | function result changed | breaking when `RemoteCall::Return` is spelled differently | incompatible |
//! | constructor now builds another type | breaking | incompatible |
//! | type parameters renamed | breaking | compatible |
//! | optional field (`flags.N?T`, `flags.N?true`) added | compatible when the struct implements `Default` before and after (`..Default::default()` keeps compiling), else breaking | incompatible; compatible for a `?true` bit of a flags word that was already there (a decoder that does not know the bit ignores it) |
//! | required field added | breaking (every struct literal must name it) | incompatible |
//! | field added to a struct that had no stored field | breaking (a unit struct gains fields) | incompatible |
//! | `flags:#` word, or a `?true` implied by a valued field, added or removed | compatible (not stored) | incompatible |
//! | stored field removed | breaking | incompatible (compatible for a `?true` bit of a flags word that stays) |
//! | field renamed | breaking (compatible if the Rust identifier is the same, or it is not stored) | compatible |
//! | field retyped, made optional or made required | breaking when the Rust type changes (`Bool` → `flags.N?true` stays `bool`: compatible) | incompatible |
//! | flag bit moved | compatible | incompatible |
//! | fields reordered | compatible (named fields) | incompatible |
//! | layout changed but the id did not | compatible | incompatible (peers cannot tell the layouts apart) |
//! | struct no longer implements `Default` | breaking | compatible |
//! | constructor's enum variant now boxed, or now a unit variant (the constructor gained its first field, or lost its last) | breaking (`Enum::Variant` becomes `Enum::Variant(Box<T>)`, or the reverse) | compatible |
//! | variant added to a type's enum | breaks exhaustive `match`es (the enums are not `#[non_exhaustive]`): counted as breaking | compatible |
//! | variant removed | breaking | incompatible |
//! | variant renamed (its constructor renamed, same id) | breaking | compatible |
//! | enum loses its `Default` (no `…Empty` constructor without fields left) | breaking | compatible |
//! | enum gains `Default`, or its `Default` variant changes | compatible (`Default::default()` may yield another variant) | compatible |
//!
//! A changed definition is as breaking as its worst detail, and wire-incompatible when any
//! detail is. An added constructor is reported twice on purpose: as a new struct (compatible)
//! and as a new variant of its type's enum (breaks exhaustive matches).
//!
//! # Exit codes of `tlgen diff`
//!
//! - 0: the diff was printed and the `--fail-on` condition did not hold;
//! - 1: the diff was printed and the `--fail-on` condition held (`breaking`: any change is
//!   source-breaking; `wire`: any change is wire-incompatible; `any`: anything changed;
//!   `never`, the default: never);
//! - 2: usage error, unreadable file, or a schema with errors (the diagnostics are printed).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::Severity;
use crate::ir::Section;
use crate::ir::{Definition, Field, FieldKind, Name, Schema, Ty};
use crate::lang::rust;
use crate::shapes::Shapes;

/// Arguments of `tlgen diff`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Exit status: 0 the diff was printed; 1 the diff was printed and the --fail-on condition held; 2 usage error, unreadable file or schema errors (diagnostics on stderr)."
)]
pub struct DiffArgs {
    /// The older schema.
    pub old: std::path::PathBuf,
    /// The newer schema.
    pub new: std::path::PathBuf,
    /// Output format: readable text, Markdown (for a pull-request body) or JSON (for tools).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit with status 1 when any change is source-breaking (`breaking`), wire-incompatible
    /// (`wire`), when anything changed (`any`), or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = FailOn::Never)]
    pub fail_on: FailOn,
    /// The layer of the older schema (when it has no `// LAYER N` line, or to override it).
    #[arg(long, value_name = "N")]
    pub layer_old: Option<i32>,
    /// The layer of the newer schema.
    #[arg(long, value_name = "N")]
    pub layer_new: Option<i32>,
}

/// How `tlgen diff` prints the diff.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Readable text.
    Text,
    /// Markdown, for a pull-request body.
    Markdown,
    /// JSON, for tools.
    Json,
}

/// When `tlgen diff` exits with status 1.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
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

/// What a change does to code that uses the generated Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Code keeps compiling.
    Compatible,
    /// Exhaustive `match`es over the type's enum stop compiling; the rest keeps compiling.
    ExhaustiveMatch,
    /// Code that uses the item may stop compiling.
    Breaking,
}

/// Whether peers built from the two schemas can still exchange the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wire {
    /// Same bytes, same meaning.
    Compatible,
    /// An id or a layout changed.
    Incompatible,
}

/// What kind of item changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// A boxed type (an enum).
    Type,
    /// A constructor (a struct).
    Constructor,
    /// A function (a struct with `RemoteCall`).
    Function,
}

/// How the item changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Only in the old schema.
    Removed,
    /// Same id, new name (maybe with other changes).
    Renamed,
    /// Same name, something else changed.
    Changed,
    /// Only in the new schema.
    Added,
}

/// One change inside a changed definition or type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// The definition was renamed (its id stayed).
    Renamed {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// The id changed.
    IdChanged {
        /// Old id, hex.
        from: String,
        /// New id, hex.
        to: String,
    },
    /// The fields or result changed but the id did not.
    LayoutChangedSameId {
        /// The id, hex.
        id: String,
    },
    /// A function's result type, or the type a constructor builds, changed.
    ResultChanged {
        /// Old type, TL spelling.
        from: String,
        /// New type.
        to: String,
    },
    /// The type parameters changed.
    GenericsChanged {
        /// Old parameters.
        from: Vec<String>,
        /// New parameters.
        to: Vec<String>,
    },
    /// A field was added.
    FieldAdded {
        /// Its name.
        field: String,
        /// Its TL type (`flags.3?int`).
        tl: String,
    },
    /// A field was removed.
    FieldRemoved {
        /// Its name.
        field: String,
        /// Its TL type.
        tl: String,
    },
    /// A field at the same position with the same type got another name.
    FieldRenamed {
        /// Old name.
        from: String,
        /// New name.
        to: String,
        /// Its TL type.
        tl: String,
    },
    /// A field's type changed.
    FieldRetyped {
        /// Its name.
        field: String,
        /// Old TL type.
        from: String,
        /// New TL type.
        to: String,
    },
    /// A required field became conditional.
    FieldMadeOptional {
        /// Its name.
        field: String,
        /// Old TL type.
        from: String,
        /// New TL type.
        to: String,
    },
    /// A conditional field became required.
    FieldMadeRequired {
        /// Its name.
        field: String,
        /// Old TL type.
        from: String,
        /// New TL type.
        to: String,
    },
    /// A conditional field reads another flag bit.
    FlagBitMoved {
        /// Its name.
        field: String,
        /// Old condition (`flags.3`).
        from: String,
        /// New condition.
        to: String,
    },
    /// Fields kept their names but not their order.
    FieldsReordered,
    /// The struct no longer implements `Default`.
    DefaultLost,
    /// The struct now implements `Default`.
    DefaultGained,
    /// The constructor's enum variant holds it in a `Box` now (`boxed`), or inline now.
    BoxingChanged {
        /// Whether the variant holds a `Box` in the new bindings.
        boxed: bool,
    },
    /// A constructor joined the type: a new enum variant.
    VariantAdded {
        /// The constructor.
        constructor: String,
    },
    /// A constructor left the type.
    VariantRemoved {
        /// The constructor.
        constructor: String,
    },
    /// A constructor of the type was renamed.
    VariantRenamed {
        /// Old constructor name.
        from: String,
        /// New constructor name.
        to: String,
    },
    /// The enum's `Default` variant (its `…Empty` constructor without fields) changed.
    DefaultVariantChanged {
        /// Old default constructor, if any.
        from: Option<String>,
        /// New default constructor, if any.
        to: Option<String>,
    },
}

impl What {
    /// One line saying what changed, with code in backticks.
    pub fn describe(&self) -> String {
        match self {
            Self::Renamed { from, to } => format!("renamed `{from}` → `{to}`"),
            Self::IdChanged { from, to } => format!("id {from} → {to}"),
            Self::LayoutChangedSameId { id } => format!("layout changed but the id stayed {id}"),
            Self::ResultChanged { from, to } => format!("result `{from}` → `{to}`"),
            Self::GenericsChanged { from, to } => {
                format!(
                    "type parameters `{{{}}}` → `{{{}}}`",
                    from.join(" "),
                    to.join(" ")
                )
            }
            Self::FieldAdded { field, tl } => format!("field `{field}:{tl}` added"),
            Self::FieldRemoved { field, tl } => format!("field `{field}:{tl}` removed"),
            Self::FieldRenamed { from, to, tl } => {
                format!("field `{from}` renamed to `{to}` (`{tl}`)")
            }
            Self::FieldRetyped { field, from, to } => {
                format!("field `{field}` retyped `{from}` → `{to}`")
            }
            Self::FieldMadeOptional { field, from, to } => {
                format!("field `{field}` made optional `{from}` → `{to}`")
            }
            Self::FieldMadeRequired { field, from, to } => {
                format!("field `{field}` made required `{from}` → `{to}`")
            }
            Self::FlagBitMoved { field, from, to } => {
                format!("field `{field}` flag moved `{from}` → `{to}`")
            }
            Self::FieldsReordered => "fields reordered".to_string(),
            Self::DefaultLost => "no longer implements `Default`".to_string(),
            Self::DefaultGained => "now implements `Default`".to_string(),
            Self::BoxingChanged { boxed: true } => {
                "its enum variant holds it in a `Box` now".to_string()
            }
            Self::BoxingChanged { boxed: false } => {
                "its enum variant holds nothing now".to_string()
            }
            Self::VariantAdded { constructor } => format!("variant `{constructor}` added"),
            Self::VariantRemoved { constructor } => format!("variant `{constructor}` removed"),
            Self::VariantRenamed { from, to } => format!("variant `{from}` renamed to `{to}`"),
            Self::DefaultVariantChanged { from, to } => match (from, to) {
                (Some(a), Some(b)) => format!("`Default` variant `{a}` → `{b}`"),
                (Some(a), None) => format!("no longer implements `Default` (was `{a}`)"),
                (None, Some(b)) => format!("now implements `Default` (`{b}`)"),
                (None, None) => "`Default` unchanged".to_string(),
            },
        }
    }
}

/// One classified detail of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// What changed.
    #[serde(flatten)]
    pub what: What,
    /// What it does to code using the generated Rust.
    pub source: Source,
    /// What it does on the wire.
    pub wire: Wire,
    /// Why it was classified so (empty when obvious).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl Detail {
    /// ` (reason)`, or nothing when there is no reason to give.
    fn reason_suffix(&self) -> String {
        if self.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.reason)
        }
    }
}

/// One added, removed, renamed or changed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Type, constructor or function.
    pub item: Item,
    /// Added, removed, renamed or changed.
    pub status: Status,
    /// Its name (the new one for a rename).
    pub name: String,
    /// The old name, for a rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_name: Option<String>,
    /// The old id (hex), for constructors and functions that existed before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_id: Option<String>,
    /// The new id (hex), for constructors and functions that exist now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// The old TL line (for types: `Name = ctor | ctor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_tl: Option<String>,
    /// The new TL line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_tl: Option<String>,
    /// The worst source impact of the change.
    pub source: Source,
    /// Whether the change is wire-compatible.
    pub wire: Wire,
    /// What changed inside (empty for added and removed items).
    pub details: Vec<Detail>,
}

impl Change {
    /// Source-breaking (exhaustive-match breakage included).
    pub fn is_breaking(&self) -> bool {
        self.source != Source::Compatible
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    /// The schema file name (no directories).
    pub file: String,
    /// Its layer, if known.
    pub layer: Option<i32>,
}

/// Counts over all changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Added items.
    pub added: usize,
    /// Removed items.
    pub removed: usize,
    /// Changed items, renames included.
    pub changed: usize,
    /// Renamed items (also counted in `changed`).
    pub renamed: usize,
    /// Source-breaking items.
    pub breaking: usize,
    /// Wire-incompatible items.
    pub wire_incompatible: usize,
}

/// The diff of two schemas: sorted by item kind, status and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// The older schema.
    pub old: Side,
    /// The newer schema.
    pub new: Side,
    /// Counts.
    pub summary: Summary,
    /// Every change.
    pub changes: Vec<Change>,
}

/// Compares two checked schemas; `old_file` and `new_file` name them in the output (only their
/// file names are kept).
pub fn diff(old_file: &str, old: &Schema, new_file: &str, new: &Schema) -> Diff {
    let old_facts = Shapes::new(old);
    let new_facts = Shapes::new(new);
    let mut changes = Vec::new();
    let mut renamed_ctors: BTreeMap<Name, Name> = BTreeMap::new();
    for (item, o, n) in [
        (Item::Constructor, &old.constructors, &new.constructors),
        (Item::Function, &old.functions, &new.functions),
    ] {
        let m = match_definitions(o, n);
        for d in m.removed {
            changes.push(Change {
                item,
                status: Status::Removed,
                name: d.name.full(),
                old_name: None,
                old_id: Some(hex(d.id)),
                new_id: None,
                old_tl: Some(d.tl.clone()),
                new_tl: None,
                source: Source::Breaking,
                wire: Wire::Incompatible,
                details: Vec::new(),
            });
        }
        for d in m.added {
            changes.push(Change {
                item,
                status: Status::Added,
                name: d.name.full(),
                old_name: None,
                old_id: None,
                new_id: Some(hex(d.id)),
                old_tl: None,
                new_tl: Some(d.tl.clone()),
                source: Source::Compatible,
                wire: Wire::Compatible,
                details: Vec::new(),
            });
        }
        for (o, n) in m.pairs {
            if o.name != n.name && item == Item::Constructor {
                renamed_ctors.insert(o.name.clone(), n.name.clone());
            }
            let details = compare_definitions(o, n, &old_facts, &new_facts);
            if details.is_empty() {
                continue;
            }
            let renamed = o.name != n.name;
            changes.push(Change {
                item,
                status: if renamed {
                    Status::Renamed
                } else {
                    Status::Changed
                },
                name: n.name.full(),
                old_name: renamed.then(|| o.name.full()),
                old_id: Some(hex(o.id)),
                new_id: Some(hex(n.id)),
                old_tl: Some(o.tl.clone()),
                new_tl: Some(n.tl.clone()),
                source: worst_source(&details),
                wire: worst_wire(&details),
                details,
            });
        }
    }
    changes.extend(compare_types(
        old,
        new,
        &old_facts,
        &new_facts,
        &renamed_ctors,
    ));
    changes.sort_by(|a, b| (a.item, a.status, &a.name).cmp(&(b.item, b.status, &b.name)));

    let mut summary = Summary::default();
    for c in &changes {
        match c.status {
            Status::Added => summary.added += 1,
            Status::Removed => summary.removed += 1,
            Status::Changed => summary.changed += 1,
            Status::Renamed => {
                summary.changed += 1;
                summary.renamed += 1;
            }
        }
        summary.breaking += usize::from(c.is_breaking());
        summary.wire_incompatible += usize::from(c.wire == Wire::Incompatible);
    }
    Diff {
        old: Side {
            file: file_name(old_file),
            layer: old.layer,
        },
        new: Side {
            file: file_name(new_file),
            layer: new.layer,
        },
        summary,
        changes,
    }
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

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

fn hex(id: u32) -> String {
    format!("{id:#010x}")
}

fn worst_source(details: &[Detail]) -> Source {
    details
        .iter()
        .map(|d| d.source)
        .max()
        .unwrap_or(Source::Compatible)
}

fn worst_wire(details: &[Detail]) -> Wire {
    details
        .iter()
        .map(|d| d.wire)
        .max()
        .unwrap_or(Wire::Compatible)
}

struct Matched<'a> {
    /// Same name, or same id and a new name.
    pairs: Vec<(&'a Definition, &'a Definition)>,
    removed: Vec<&'a Definition>,
    added: Vec<&'a Definition>,
}

fn match_definitions<'a>(old: &'a [Definition], new: &'a [Definition]) -> Matched<'a> {
    let new_by_name: BTreeMap<&Name, &Definition> = new.iter().map(|d| (&d.name, d)).collect();
    let old_names: BTreeSet<&Name> = old.iter().map(|d| &d.name).collect();
    let mut pairs = Vec::new();
    let mut unmatched_old = Vec::new();
    for o in old {
        match new_by_name.get(&o.name) {
            Some(n) => pairs.push((o, *n)),
            None => unmatched_old.push(o),
        }
    }
    // Unmatched new definitions by id, in name order, for renames.
    let mut new_by_id: BTreeMap<u32, Vec<&Definition>> = BTreeMap::new();
    for n in new.iter().filter(|n| !old_names.contains(&n.name)) {
        new_by_id.entry(n.id).or_default().push(n);
    }
    let mut removed = Vec::new();
    for o in unmatched_old {
        match new_by_id.get_mut(&o.id).filter(|v| !v.is_empty()) {
            Some(candidates) => pairs.push((o, candidates.remove(0))),
            None => removed.push(o),
        }
    }
    let added = new_by_id.into_values().flatten().collect();
    Matched {
        pairs,
        removed,
        added,
    }
}

fn compare_definitions(
    o: &Definition,
    n: &Definition,
    of: &Shapes<'_>,
    nf: &Shapes<'_>,
) -> Vec<Detail> {
    let mut details = Vec::new();
    if o.name != n.name {
        let same_rust = rust::camel(&o.name.name) == rust::camel(&n.name.name)
            && o.name.namespace == n.name.namespace;
        details.push(Detail {
            what: What::Renamed {
                from: o.name.full(),
                to: n.name.full(),
            },
            source: if same_rust {
                Source::Compatible
            } else {
                Source::Breaking
            },
            wire: Wire::Compatible,
            reason: if same_rust {
                "same Rust name".to_string()
            } else {
                String::new()
            },
        });
    }
    if o.id != n.id {
        details.push(Detail {
            what: What::IdChanged {
                from: hex(o.id),
                to: hex(n.id),
            },
            source: Source::Compatible,
            wire: Wire::Incompatible,
            reason: String::new(),
        });
    }
    if o.generics != n.generics {
        details.push(Detail {
            what: What::GenericsChanged {
                from: o.generics.clone(),
                to: n.generics.clone(),
            },
            source: Source::Breaking,
            wire: Wire::Compatible,
            reason: String::new(),
        });
    }
    if o.result != n.result {
        let (source, reason) = match n.section {
            Section::Functions if rust_shape(&o.result) == rust_shape(&n.result) => (
                Source::Compatible,
                "`RemoteCall::Return` is spelled the same".to_string(),
            ),
            Section::Functions => (Source::Breaking, "`RemoteCall::Return` changes".to_string()),
            Section::Types => (
                Source::Breaking,
                "the struct moves to another enum".to_string(),
            ),
        };
        details.push(Detail {
            what: What::ResultChanged {
                from: o.result.to_string(),
                to: n.result.to_string(),
            },
            source,
            wire: Wire::Incompatible,
            reason,
        });
    }
    let old_default = of.has_default(o);
    let new_default = nf.has_default(n);
    let fields = compare_fields(o, n, old_default && new_default);
    let layout_changed =
        fields.iter().any(|d| d.wire == Wire::Incompatible) || o.result != n.result;
    details.extend(fields);
    if o.id == n.id && layout_changed {
        details.push(Detail {
            what: What::LayoutChangedSameId { id: hex(o.id) },
            source: Source::Compatible,
            wire: Wire::Incompatible,
            reason: "peers cannot tell the two layouts apart".to_string(),
        });
    }
    if n.section == Section::Types && of.variant_boxed(&o.name) != nf.variant_boxed(&n.name) {
        let boxed = nf.variant_boxed(&n.name);
        details.push(Detail {
            what: What::BoxingChanged { boxed },
            source: Source::Breaking,
            wire: Wire::Compatible,
            reason: if boxed {
                "`Enum::Variant(x)` holds a `Box<T>` now, as the constructor has fields".to_string()
            } else {
                "`Enum::Variant` holds nothing now, as the constructor has no fields".to_string()
            },
        });
    }
    if old_default && !new_default {
        details.push(Detail {
            what: What::DefaultLost,
            source: Source::Breaking,
            wire: Wire::Compatible,
            reason: "`Default::default()` and `..Default::default()` stop compiling".to_string(),
        });
    } else if !old_default && new_default && !details.is_empty() {
        details.push(Detail {
            what: What::DefaultGained,
            source: Source::Compatible,
            wire: Wire::Compatible,
            reason: String::new(),
        });
    }
    details
}

/// Whether a field is a struct field in the generated Rust: `flags:#` words are computed, and a
/// `?true` on a bit that a valued field also reads is implied by that field.
fn is_stored(f: &Field, fields: &[Field]) -> bool {
    match &f.kind {
        FieldKind::Flags => false,
        FieldKind::Required { .. } | FieldKind::Optional { .. } => true,
        FieldKind::FlagTrue { flags, bit } => !fields.iter().any(|g| {
            matches!(&g.kind, FieldKind::Optional { flags: gf, bit: gb, .. } if gf == flags && gb == bit)
        }),
    }
}

/// The Rust type of a stored field, as far as it decides whether user code compiles.
fn field_shape(f: &Field, fields: &[Field]) -> Option<String> {
    if !is_stored(f, fields) {
        return None;
    }
    Some(match &f.kind {
        FieldKind::Flags => "u32".to_string(),
        FieldKind::Required { ty } => rust_shape(ty),
        FieldKind::Optional { ty, .. } => format!("Option<{}>", rust_shape(ty)),
        FieldKind::FlagTrue { .. } => "bool".to_string(),
    })
}

fn rust_shape(ty: &Ty) -> String {
    // The renderer's own spelling; names stay TL names (only equality matters here).
    rust::ty(ty, "crate", &|n: &Name| n.full(), &|n: &Name| n.full())
}

/// The value type of a field, without its condition.
fn value_ty(kind: &FieldKind) -> Option<&Ty> {
    match kind {
        FieldKind::Flags => None,
        FieldKind::Required { ty } | FieldKind::Optional { ty, .. } => Some(ty),
        FieldKind::FlagTrue { .. } => Some(&Ty::True),
    }
}

fn condition(kind: &FieldKind) -> Option<(&str, u32)> {
    match kind {
        FieldKind::Optional { flags, bit, .. } | FieldKind::FlagTrue { flags, bit } => {
            Some((flags, *bit))
        }
        _ => None,
    }
}

/// Field-level details of a matched pair. `keeps_default`: the struct implements `Default` in both
/// schemas, so an added optional field does not break `..Default::default()` literals.
fn compare_fields(o: &Definition, n: &Definition, keeps_default: bool) -> Vec<Detail> {
    let of = &o.fields;
    let nf = &n.fields;
    // new index -> old index
    let mut pair_of_new: Vec<Option<usize>> = nf
        .iter()
        .map(|f| of.iter().position(|g| g.name == f.name))
        .collect();
    let mut matched_old: Vec<bool> = vec![false; of.len()];
    for i in pair_of_new.iter().flatten() {
        if let Some(m) = matched_old.get_mut(*i) {
            *m = true;
        }
    }
    // Renames: same position, same type, both unmatched.
    let mut renamed: BTreeSet<usize> = BTreeSet::new();
    for (j, slot) in pair_of_new.iter_mut().enumerate() {
        if slot.is_some() {
            continue;
        }
        let (Some(old), Some(new)) = (of.get(j), nf.get(j)) else {
            continue;
        };
        if matched_old.get(j) == Some(&false) && old.kind == new.kind {
            *slot = Some(j);
            matched_old[j] = true;
            renamed.insert(j);
        }
    }
    let old_stored = of.iter().filter(|f| is_stored(f, of)).count();

    let mut details = Vec::new();
    for (i, f) in of.iter().enumerate() {
        if matched_old.get(i) == Some(&true) {
            continue;
        }
        let stored = is_stored(f, of);
        let bit_only = is_kept_flag_bit(f, nf);
        let reason = match (stored, bit_only) {
            (false, _) => "not a struct field",
            (true, true) => "new decoders ignore the bit",
            (true, false) => "",
        };
        details.push(Detail {
            what: What::FieldRemoved {
                field: f.name.clone(),
                tl: f.kind.to_string(),
            },
            source: if stored {
                Source::Breaking
            } else {
                Source::Compatible
            },
            wire: if bit_only {
                Wire::Compatible
            } else {
                Wire::Incompatible
            },
            reason: reason.to_string(),
        });
    }
    for (j, f) in nf.iter().enumerate() {
        let Some(i) = pair_of_new.get(j).copied().flatten() else {
            details.push(added_field(f, nf, of, old_stored, keeps_default));
            continue;
        };
        let Some(g) = of.get(i) else { continue };
        if renamed.contains(&j) {
            let same = rust::snake(&g.name) == rust::snake(&f.name);
            details.push(Detail {
                what: What::FieldRenamed {
                    from: g.name.clone(),
                    to: f.name.clone(),
                    tl: f.kind.to_string(),
                },
                source: if same || !is_stored(f, nf) {
                    Source::Compatible
                } else {
                    Source::Breaking
                },
                wire: Wire::Compatible,
                reason: if same {
                    "same Rust identifier".to_string()
                } else {
                    String::new()
                },
            });
            continue;
        }
        if g.kind == f.kind {
            continue;
        }
        let from = g.kind.to_string();
        let to = f.kind.to_string();
        let field = f.name.clone();
        let old_cond = condition(&g.kind);
        let new_cond = condition(&f.kind);
        let what = match (old_cond, new_cond) {
            (None, Some(_)) if g.kind != FieldKind::Flags => {
                What::FieldMadeOptional { field, from, to }
            }
            (Some(_), None) if f.kind != FieldKind::Flags => {
                What::FieldMadeRequired { field, from, to }
            }
            (Some((a, x)), Some((b, y))) if value_ty(&g.kind) == value_ty(&f.kind) => {
                What::FlagBitMoved {
                    field,
                    from: format!("{a}.{x}"),
                    to: format!("{b}.{y}"),
                }
            }
            _ => What::FieldRetyped { field, from, to },
        };
        let old_shape = field_shape(g, of);
        let new_shape = field_shape(f, nf);
        let same = old_shape == new_shape;
        let reason = match (&old_shape, &new_shape) {
            _ if same => "same Rust type".to_string(),
            (Some(a), Some(b)) => format!("Rust type `{a}` → `{b}`"),
            (None, Some(_)) => "becomes a struct field".to_string(),
            (Some(_), None) => "no longer a struct field".to_string(),
            (None, None) => String::new(),
        };
        details.push(Detail {
            what,
            source: if same {
                Source::Compatible
            } else {
                Source::Breaking
            },
            wire: Wire::Incompatible,
            reason,
        });
    }
    // Kept fields in another relative order.
    let order: Vec<usize> = pair_of_new.iter().flatten().copied().collect();
    if order.windows(2).any(|w| w[0] > w[1]) {
        details.push(Detail {
            what: What::FieldsReordered,
            source: Source::Compatible,
            wire: Wire::Incompatible,
            reason: "named fields".to_string(),
        });
    }
    details
}

/// Whether `f` is a `flags.N?true` bit of a flags word that `other` (the other side's fields)
/// has too: a decoder that does not know the bit ignores it, so the bytes stay compatible.
fn is_kept_flag_bit(f: &Field, other: &[Field]) -> bool {
    match &f.kind {
        FieldKind::FlagTrue { flags, .. } => other
            .iter()
            .any(|g| g.name == *flags && g.kind == FieldKind::Flags),
        _ => false,
    }
}

fn added_field(
    f: &Field,
    fields: &[Field],
    old_fields: &[Field],
    old_stored: usize,
    keeps_default: bool,
) -> Detail {
    let (source, reason) = if !is_stored(f, fields) {
        (Source::Compatible, "not a struct field")
    } else if old_stored == 0 {
        (Source::Breaking, "a struct without fields gains one")
    } else if matches!(f.kind, FieldKind::Required { .. }) {
        (
            Source::Breaking,
            "required: every struct literal must name it",
        )
    } else if keeps_default {
        (
            Source::Compatible,
            "optional, and the struct implements `Default`: `..Default::default()` keeps compiling",
        )
    } else {
        (
            Source::Breaking,
            "optional, but the struct does not implement `Default`: every struct literal must name it",
        )
    };
    Detail {
        what: What::FieldAdded {
            field: f.name.clone(),
            tl: f.kind.to_string(),
        },
        source,
        wire: if is_kept_flag_bit(f, old_fields) {
            Wire::Compatible
        } else {
            Wire::Incompatible
        },
        reason: reason.to_string(),
    }
}

fn compare_types(
    old: &Schema,
    new: &Schema,
    of: &Shapes<'_>,
    nf: &Shapes<'_>,
    renamed_ctors: &BTreeMap<Name, Name>,
) -> Vec<Change> {
    let type_tl = |t: &crate::ir::TypeDef| {
        let ctors: Vec<String> = t.constructors.iter().map(Name::full).collect();
        format!("{} = {}", t.name.full(), ctors.join(" | "))
    };
    let names: BTreeSet<&Name> = old.types.keys().chain(new.types.keys()).collect();
    let mut changes = Vec::new();
    for name in names {
        let base = |status, source, wire, details: Vec<Detail>| Change {
            item: Item::Type,
            status,
            name: name.full(),
            old_name: None,
            old_id: None,
            new_id: None,
            old_tl: old.types.get(name).map(type_tl),
            new_tl: new.types.get(name).map(type_tl),
            source,
            wire,
            details,
        };
        let (o, n) = match (old.types.get(name), new.types.get(name)) {
            (Some(_), None) => {
                changes.push(base(
                    Status::Removed,
                    Source::Breaking,
                    Wire::Incompatible,
                    Vec::new(),
                ));
                continue;
            }
            (None, Some(_)) => {
                changes.push(base(
                    Status::Added,
                    Source::Compatible,
                    Wire::Compatible,
                    Vec::new(),
                ));
                continue;
            }
            (Some(o), Some(n)) => (o, n),
            (None, None) => continue,
        };
        let old_set: BTreeSet<&Name> = o.constructors.iter().collect();
        let new_set: BTreeSet<&Name> = n.constructors.iter().collect();
        let mut details = Vec::new();
        let mut rename_targets = BTreeSet::new();
        for c in old_set.difference(&new_set) {
            match renamed_ctors
                .get(*c)
                .filter(|t| new_set.contains(t) && !old_set.contains(t))
            {
                Some(to) => {
                    rename_targets.insert(to);
                    let same = rust::camel(&c.name) == rust::camel(&to.name)
                        && c.namespace == to.namespace;
                    details.push(Detail {
                        what: What::VariantRenamed {
                            from: c.full(),
                            to: to.full(),
                        },
                        source: if same {
                            Source::Compatible
                        } else {
                            Source::Breaking
                        },
                        wire: Wire::Compatible,
                        reason: String::new(),
                    });
                }
                None => details.push(Detail {
                    what: What::VariantRemoved {
                        constructor: c.full(),
                    },
                    source: Source::Breaking,
                    wire: Wire::Incompatible,
                    reason: String::new(),
                }),
            }
        }
        for c in new_set.difference(&old_set) {
            if rename_targets.contains(*c) {
                continue;
            }
            details.push(Detail {
                what: What::VariantAdded {
                    constructor: c.full(),
                },
                source: Source::ExhaustiveMatch,
                wire: Wire::Compatible,
                reason: String::new(),
            });
        }
        let old_default = of
            .default_variant(name)
            .map(|d| renamed_ctors.get(d).unwrap_or(d));
        let new_default = nf.default_variant(name);
        if old_default != new_default {
            let (source, reason) = match (old_default, new_default) {
                (Some(_), None) => (Source::Breaking, "`Default::default()` stops compiling"),
                (None, Some(_)) => (Source::Compatible, ""),
                _ => (
                    Source::Compatible,
                    "`Default::default()` yields another variant",
                ),
            };
            details.push(Detail {
                what: What::DefaultVariantChanged {
                    from: of.default_variant(name).map(Name::full),
                    to: new_default.map(Name::full),
                },
                source,
                wire: Wire::Compatible,
                reason: reason.to_string(),
            });
        }
        if !details.is_empty() {
            changes.push(base(
                Status::Changed,
                worst_source(&details),
                worst_wire(&details),
                details,
            ));
        }
    }
    changes
}

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

/// Runs `tlgen diff`; returns the process exit code.
pub fn run(args: &DiffArgs) -> u8 {
    let loaded =
        load(&args.old, args.layer_old).and_then(|o| Ok((o, load(&args.new, args.layer_new)?)));
    let (old, new) = match loaded {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let d = diff(
        &args.old.to_string_lossy(),
        &old,
        &args.new.to_string_lossy(),
        &new,
    );
    let out = match args.format {
        Format::Text => d.to_text(),
        Format::Markdown => d.to_markdown(),
        Format::Json => match d.to_json() {
            Ok(mut j) => {
                j.push('\n');
                j
            }
            Err(e) => {
                eprintln!("cannot write the diff as json: {e}");
                return 2;
            }
        },
    };
    // A closed pipe (`tlgen diff ... | head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
    u8::from(d.fails(args.fail_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(text: &str) -> Schema {
        let (s, d) = crate::check("t.tl", text);
        s.unwrap_or_else(|| panic!("{d:#?}"))
    }

    #[test]
    fn renames_keep_their_id_and_name_the_old_one() {
        let old = schema("a#00000001 x:int = A;\n");
        let new = schema("b#00000001 x:int = A;\n");
        let d = diff("old.tl", &old, "new.tl", &new);
        let renamed: Vec<_> = d
            .changes
            .iter()
            .filter(|c| c.status == Status::Renamed)
            .collect();
        assert_eq!(renamed.len(), 1);
        assert_eq!(renamed[0].old_name.as_deref(), Some("a"));
        assert_eq!(renamed[0].wire, Wire::Compatible);
        assert!(renamed[0].is_breaking());
    }

    #[test]
    fn identical_schemas_have_no_changes() {
        let s =
            schema("a#00000001 x:int = A;\nb#00000002 = A;\n---functions---\nf#00000003 = A;\n");
        let d = diff("a.tl", &s, "b.tl", &s);
        assert!(d.changes.is_empty());
        assert!(!d.fails(FailOn::Any));
    }

    #[test]
    fn bool_to_flag_true_keeps_the_rust_type() {
        let old = schema("a#00000001 flags:# x:Bool = A;\n");
        let new = schema("a#00000001 flags:# x:flags.0?true = A;\n");
        let d = diff("o", &old, "n", &new);
        let c = &d.changes[0];
        assert!(matches!(c.details[0].what, What::FieldMadeOptional { .. }));
        assert_eq!(c.details[0].source, Source::Compatible);
        assert_eq!(c.wire, Wire::Incompatible);
    }
}
