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

mod compare;
mod load;
mod model;
mod report;

pub use compare::diff;
pub use load::{load, DiffError};
pub use model::{Change, Detail, Diff, Item, Side, Source, Status, Summary, What, Wire};
pub use report::{FailOn, Format};
