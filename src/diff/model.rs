//! What a diff is made of: items, statuses, classified details and counts.

use serde::Serialize;

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
                "its enum variant holds it inline now".to_string()
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
    pub(super) fn reason_suffix(&self) -> String {
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
