//! Matching and classifying: the comparison of two checked schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::model::*;
use crate::ir::Section;
use crate::ir::{Definition, Field, FieldKind, Name, Schema, Ty};
use crate::lang::rust;
use crate::shapes::Shapes;

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
                "`Enum::Variant(x)` holds a `Box<T>` now: the constructor is no longer small (at most two number fields, no flags)".to_string()
            } else {
                "`Enum::Variant(x)` holds the struct itself now: the constructor is small (no fields, or at most two number fields and no flags)".to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::FailOn;

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
