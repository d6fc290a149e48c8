//! Tests of `tlgen diff`: snapshots over consecutive real layers, a property over random subsets of a real schema, and one fixture per field-level change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use proptest::prelude::*;

use tlgen::diff::{self, Diff, Item, Status};
use tlgen::ir::{Definition, FieldKind, Name, Schema, Ty};

/// A file under `../shared/schemas/`, or `None` (with a note) when shared/ is missing outside CI.
fn shared(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("TLGEN_SHARED_DIR"))
        .join("schemas")
        .join(rel);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{} is missing: CI needs the shared/ reference schemas beside the checkout",
            path.display()
        );
    }
    eprintln!(
        "skipped: {} is missing (shared/ reference schemas not found)",
        path.display()
    );
    None
}

fn load(path: &Path, layer: Option<i32>) -> Schema {
    diff::load(path, layer).unwrap_or_else(|e| panic!("{e}"))
}

fn diff_files(old: &Path, new: &Path, new_layer: Option<i32>) -> Diff {
    diff::diff(
        &old.to_string_lossy(),
        &load(old, None),
        &new.to_string_lossy(),
        &load(new, new_layer),
    )
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

const LAYERS: [u32; 11] = [122, 133, 144, 155, 166, 176, 187, 199, 211, 222, 227];

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn consecutive_layers_match_their_snapshots() {
    for pair in LAYERS.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (Some(old), Some(new)) = (
            shared(&format!("layers/layer-{a}.tl")),
            shared(&format!("layers/layer-{b}.tl")),
        ) else {
            return;
        };
        let d = diff_files(&old, &new, None);
        assert_eq!((d.old.layer, d.new.layer), (Some(a as i32), Some(b as i32)));
        snapshot!(format!("diff_layer_{a}_{b}"), d.to_text());
    }
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn layer_227_to_api_tl_matches_its_snapshots() {
    let (Some(old), Some(new)) = (shared("layers/layer-227.tl"), shared("telegram/api.tl")) else {
        return;
    };
    let d = diff_files(&old, &new, Some(228));
    assert!(
        d.summary_line().starts_with("layer 227 → 228: "),
        "{}",
        d.summary_line()
    );
    snapshot!("diff_layer_227_228", d.to_text());
    snapshot!("diff_layer_227_228_markdown", d.to_markdown());
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn output_does_not_depend_on_definition_order() {
    let (Some(old), Some(new)) = (shared("layers/layer-222.tl"), shared("layers/layer-227.tl"))
    else {
        return;
    };
    // The same definitions, written in reverse order.
    let reversed = |p: &Path| {
        let s = load(p, None);
        let mut text: String = s
            .constructors
            .iter()
            .rev()
            .map(|d| format!("{}\n", d.tl))
            .collect();
        text.push_str("---functions---\n");
        text.extend(s.functions.iter().rev().map(|d| format!("{}\n", d.tl)));
        text.push_str(&format!("// LAYER {}\n", s.layer.unwrap()));
        text
    };
    let check = |name: &str, text: &str| tlgen::check(name, text).0.unwrap();
    let a = diff::diff(
        "old.tl",
        &check("old.tl", &reversed(&old)),
        "new.tl",
        &check("new.tl", &reversed(&new)),
    );
    let b = diff_files(&old, &new, None);
    assert_eq!(a.to_text(), b.to_text());
}

// ---------------------------------------------------------------------------------------------
// The property: ids only in NEW are added, ids only in OLD are removed, over random subsets.

/// Adds to `keep` what `ty` needs to resolve: a bare constructor, or one constructor of a
/// boxed type when none is kept yet.
fn require(schema: &Schema, ty: &Ty, keep: &mut BTreeSet<Name>, todo: &mut Vec<Name>) {
    match ty {
        Ty::Vector { item, .. } => require(schema, item, keep, todo),
        Ty::Bare { constructor } if keep.insert(constructor.clone()) => {
            todo.push(constructor.clone())
        }
        Ty::Boxed { name } => {
            let Some(t) = schema.types.get(name) else {
                return;
            };
            if t.constructors.iter().any(|c| keep.contains(c)) {
                return;
            }
            if let Some(first) = t.constructors.first() {
                keep.insert(first.clone());
                todo.push(first.clone());
            }
        }
        _ => {}
    }
}

fn needs(d: &Definition) -> Vec<&Ty> {
    let mut v: Vec<&Ty> = d
        .fields
        .iter()
        .filter_map(|f| match &f.kind {
            FieldKind::Required { ty } | FieldKind::Optional { ty, .. } => Some(ty),
            _ => None,
        })
        .collect();
    v.push(&d.result);
    v
}

/// The schema text of the picked definitions plus what they need to resolve.
fn subset(schema: &Schema, ctors: &[bool], funcs: &[bool]) -> String {
    let mut keep: BTreeSet<Name> = BTreeSet::new();
    let mut todo: Vec<Name> = Vec::new();
    for (c, _) in schema.constructors.iter().zip(ctors).filter(|(_, k)| **k) {
        keep.insert(c.name.clone());
        todo.push(c.name.clone());
    }
    let kept_funcs: Vec<&Definition> = schema
        .functions
        .iter()
        .zip(funcs)
        .filter(|(_, k)| **k)
        .map(|(f, _)| f)
        .collect();
    for f in &kept_funcs {
        for ty in needs(f) {
            require(schema, ty, &mut keep, &mut todo);
        }
    }
    while let Some(n) = todo.pop() {
        let Some(c) = schema.constructor(&n) else {
            continue;
        };
        for ty in needs(c) {
            require(schema, ty, &mut keep, &mut todo);
        }
    }
    let mut text = String::new();
    for c in schema
        .constructors
        .iter()
        .filter(|c| keep.contains(&c.name))
    {
        text.push_str(&c.tl);
        text.push('\n');
    }
    text.push_str("---functions---\n");
    for f in kept_funcs {
        text.push_str(&f.tl);
        text.push('\n');
    }
    text
}

fn ids(s: &Schema) -> BTreeSet<(Item, String, String)> {
    let c = s
        .constructors
        .iter()
        .map(|d| (Item::Constructor, d.name.full(), format!("{:#010x}", d.id)));
    let f = s
        .functions
        .iter()
        .map(|d| (Item::Function, d.name.full(), format!("{:#010x}", d.id)));
    c.chain(f).collect()
}

/// layer-227.tl, checked once for all cases.
fn real_schema() -> Option<&'static Schema> {
    static SCHEMA: OnceLock<Option<Schema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| shared("layers/layer-227.tl").map(|p| load(&p, None)))
        .as_ref()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
    fn ids_only_in_new_are_added_and_only_in_old_are_removed(
        seeds in proptest::collection::vec(any::<u64>(), 4),
    ) {
        let Some(full) = real_schema() else { return Ok(()) };
        // Four pseudo-random masks from the seeds (splitmix64), so that a case stays small.
        let mask = |seed: u64, n: usize| -> Vec<bool> {
            let mut x = seed;
            (0..n).map(|_| {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                (z ^ (z >> 31)).is_multiple_of(3)
            }).collect()
        };
        let (nc, nf) = (full.constructors.len(), full.functions.len());
        let old_text = subset(full, &mask(seeds[0], nc), &mask(seeds[1], nf));
        let new_text = subset(full, &mask(seeds[2], nc), &mask(seeds[3], nf));
        let (old, d1) = tlgen::check("old.tl", &old_text);
        let (new, d2) = tlgen::check("new.tl", &new_text);
        let (Some(old), Some(new)) = (old, new) else {
            return Err(TestCaseError::fail(format!("subset does not check: {d1:?} {d2:?}")));
        };
        let d = diff::diff("old.tl", &old, "new.tl", &new);
        let (o, n) = (ids(&old), ids(&new));
        let added: BTreeSet<_> = d.changes.iter().filter(|c| c.status == Status::Added && c.item != Item::Type)
            .map(|c| (c.item, c.name.clone(), c.new_id.clone().unwrap_or_default())).collect();
        let removed: BTreeSet<_> = d.changes.iter().filter(|c| c.status == Status::Removed && c.item != Item::Type)
            .map(|c| (c.item, c.name.clone(), c.old_id.clone().unwrap_or_default())).collect();
        prop_assert_eq!(&added, &n.difference(&o).cloned().collect::<BTreeSet<_>>());
        prop_assert_eq!(&removed, &o.difference(&n).cloned().collect::<BTreeSet<_>>());
        // Definitions in both are never renamed (names and ids come from one schema).
        prop_assert!(d.changes.iter().all(|c| c.status != Status::Renamed));
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures: one per kind of change, with the exact text output.

fn fixture(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff");
    diff_files(
        &dir.join(format!("{name}.old.tl")),
        &dir.join(format!("{name}.new.tl")),
        None,
    )
    .to_text()
}

#[test]
fn an_optional_field_added_to_a_default_struct_is_not_breaking() {
    assert_eq!(
        fixture("field_added_optional"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (0 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `b:flags.0?int` added  [wire-incompatible] (optional, and the struct implements `Default`: `..Default::default()` keeps compiling)
"
    );
}

#[test]
fn a_variant_that_becomes_boxed_or_inline_is_breaking() {
    // `foo` gains a flags word: it is no longer small, and its variant holds it in a `Box`.
    assert_eq!(
        fixture("variant_boxed"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [breaking, wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `flags:#` added  [wire-incompatible] (not a struct field)
      · field `c:flags.0?long` added  [wire-incompatible] (optional, and the struct implements `Default`: `..Default::default()` keeps compiling)
      · its enum variant holds it in a `Box` now  [breaking] (`Enum::Variant(x)` holds a `Box<T>` now: the constructor is no longer small (at most two number fields, no flags))
"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff");
    let back = diff_files(
        &dir.join("variant_boxed.new.tl"),
        &dir.join("variant_boxed.old.tl"),
        None,
    )
    .to_text();
    assert!(
        back.contains("· its enum variant holds it inline now  [breaking]"),
        "{back}"
    );
}

#[test]
fn an_optional_field_added_to_a_struct_without_default_is_breaking() {
    assert_eq!(
        fixture("field_added_optional_no_default"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [breaking, wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `c:flags.0?int` added  [breaking, wire-incompatible] (optional, but the struct does not implement `Default`: every struct literal must name it)
"
    );
}

#[test]
fn a_required_field_added_is_breaking() {
    assert_eq!(
        fixture("field_added_required"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [breaking, wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `b:long` added  [breaking, wire-incompatible] (required: every struct literal must name it)
"
    );
}

#[test]
fn a_flag_bit_added_to_an_existing_word_keeps_the_wire() {
    assert_eq!(
        fixture("field_added_flag_bit"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (0 breaking, 0 wire-incompatible)

Constructors (1):
  ~ foo 0x00000001
      · field `b:flags.1?true` added (optional, and the struct implements `Default`: `..Default::default()` keeps compiling)
"
    );
}

#[test]
fn a_removed_field_is_breaking() {
    // `foo a:int` is left: a small constructor, which its enum holds inline.
    assert_eq!(
        fixture("field_removed"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [breaking, wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `b:string` removed  [breaking, wire-incompatible]
      · its enum variant holds it inline now  [breaking] (`Enum::Variant(x)` holds the struct itself now: the constructor is small (no fields, or at most two number fields and no flags))
"
    );
}

#[test]
fn a_renamed_field_is_breaking_but_keeps_the_wire() {
    assert_eq!(
        fixture("field_renamed"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [breaking, wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `b` renamed to `c` (`string`)  [breaking]
"
    );
}

#[test]
fn a_retyped_field_is_breaking() {
    assert_eq!(
        fixture("field_retyped"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [breaking, wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `a` retyped `int` → `long`  [breaking, wire-incompatible] (Rust type `i32` → `i64`)
"
    );
}

#[test]
fn a_field_made_optional_is_breaking() {
    assert_eq!(
        fixture("field_made_optional"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [breaking, wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `a` made optional `string` → `flags.0?string`  [breaking, wire-incompatible] (Rust type `String` → `Option<String>`)
"
    );
}

#[test]
fn a_field_made_required_is_breaking() {
    assert_eq!(
        fixture("field_made_required"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [breaking, wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `a` made required `flags.0?string` → `string`  [breaking, wire-incompatible] (Rust type `Option<String>` → `String`)
"
    );
}

#[test]
fn a_moved_flag_bit_changes_only_the_wire() {
    assert_eq!(
        fixture("flag_bit_moved"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (0 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · field `a` flag moved `flags.0` → `flags.2`  [wire-incompatible] (same Rust type)
"
    );
}

#[test]
fn reordered_fields_change_only_the_wire() {
    assert_eq!(
        fixture("fields_reordered"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (0 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
      · fields reordered  [wire-incompatible] (named fields)
"
    );
}

#[test]
fn a_new_id_changes_only_the_wire() {
    assert_eq!(
        fixture("id_changed"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (0 breaking, 1 wire-incompatible)

Constructors (1):
  ~ foo 0x00000002  [wire-incompatible]
      · id 0x00000001 → 0x00000002  [wire-incompatible]
"
    );
}

#[test]
fn a_new_result_type_changes_the_return_type() {
    assert_eq!(
        fixture("result_changed"),
        "layer 1 → 2: 0 added, 0 removed, 1 changed (1 breaking, 1 wire-incompatible)

Functions (1):
  ~ getFoo 0x00000011  [breaking, wire-incompatible]
      · id 0x00000010 → 0x00000011  [wire-incompatible]
      · result `Foo` → `Bar`  [breaking, wire-incompatible] (`RemoteCall::Return` changes)
"
    );
}

#[test]
fn the_same_id_under_a_new_name_is_a_rename() {
    assert_eq!(
        fixture("renamed"),
        "layer 1 → 2: 0 added, 0 removed, 2 changed (1 renamed, 2 breaking, 0 wire-incompatible)

Types (1):
  ~ Foo  [breaking]
      · variant `foo` renamed to `fooFull`  [breaking]

Constructors (1):
  ~ foo → fooFull 0x00000001  [breaking]
      · renamed `foo` → `fooFull`  [breaking]
"
    );
}

#[test]
fn added_and_removed_definitions_and_variants() {
    assert_eq!(
        fixture("variants"),
        "layer 1 → 2: 4 added, 4 removed, 1 changed (5 breaking, 5 wire-incompatible)

Types (3):
  - Old = old  [breaking, wire-incompatible]
  ~ Peer  [breaking, wire-incompatible]
      · variant `peerChat` removed  [breaking, wire-incompatible]
      · variant `peerChannel` added  [breaks exhaustive matches]
  + Fresh = fresh

Constructors (4):
  - old#00000003 = Old;  [breaking, wire-incompatible]
  - peerChat#00000002 id:long = Peer;  [breaking, wire-incompatible]
  + fresh#00000005 = Fresh;
  + peerChannel#00000004 id:long = Peer;

Functions (2):
  - gone#00000020 = Peer;  [breaking, wire-incompatible]
  + getFresh#00000021 = Fresh;
"
    );
}

#[test]
fn losing_the_default_variant_breaks_default_users() {
    assert_eq!(
        fixture("default_lost"),
        "layer 1 → 2: 1 added, 1 removed, 2 changed (3 breaking, 2 wire-incompatible)

Types (1):
  ~ Maybe  [breaking, wire-incompatible]
      · variant `maybeEmpty` removed  [breaking, wire-incompatible]
      · variant `other` added  [breaks exhaustive matches]
      · no longer implements `Default` (was `maybeEmpty`)  [breaking] (`Default::default()` stops compiling)

Constructors (3):
  - maybeEmpty#00000001 = Maybe;  [breaking, wire-incompatible]
  ~ holder 0x00000003  [breaking]
      · no longer implements `Default`  [breaking] (`Default::default()` and `..Default::default()` stop compiling)
  + other#00000004 y:int = Maybe;
"
    );
}

#[test]
fn markdown_and_json_of_a_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff");
    let d = diff_files(
        &dir.join("variants.old.tl"),
        &dir.join("variants.new.tl"),
        None,
    );
    snapshot!("diff_fixture_variants_markdown", d.to_markdown());
    let json = d.to_json().unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["summary"]["added"], 4);
    assert_eq!(value["changes"][1]["details"][1]["kind"], "variant_added");
    assert_eq!(
        value["changes"][1]["details"][1]["source"],
        "exhaustive_match"
    );
    snapshot!("diff_fixture_variants_json", json);
}

// ---------------------------------------------------------------------------------------------
// The command line: exit codes and formats.

fn tlgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tlgen"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff"))
        .output()
        .unwrap()
}

#[test]
fn fail_on_sets_the_exit_code() {
    let cases: &[(&str, &str, i32)] = &[
        ("field_added_required", "breaking", 1),
        ("field_added_optional", "breaking", 0),
        ("field_added_optional", "wire", 1),
        ("field_added_flag_bit", "wire", 0),
        ("field_added_flag_bit", "any", 1),
        ("field_added_required", "never", 0),
    ];
    for (name, flag, code) in cases {
        let out = tlgen(&[
            "diff",
            &format!("{name}.old.tl"),
            &format!("{name}.new.tl"),
            "--fail-on",
            flag,
        ]);
        assert_eq!(out.status.code(), Some(*code), "{name} --fail-on {flag}");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("layer 1 → 2: "));
    }
    let same = tlgen(&[
        "diff",
        "id_changed.old.tl",
        "id_changed.old.tl",
        "--fail-on",
        "any",
    ]);
    assert_eq!(same.status.code(), Some(0));
}

#[test]
fn formats_and_layer_overrides() {
    let out = tlgen(&[
        "diff",
        "id_changed.old.tl",
        "id_changed.new.tl",
        "--format",
        "json",
        "--layer-old",
        "7",
        "--layer-new",
        "8",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["old"]["layer"], 7);
    assert_eq!(value["new"]["layer"], 8);
    let md = tlgen(&[
        "diff",
        "id_changed.old.tl",
        "id_changed.new.tl",
        "--format",
        "markdown",
    ]);
    assert!(String::from_utf8_lossy(&md.stdout).starts_with("## TL schema diff: layer 1 → 2\n"));
}

#[test]
fn unreadable_or_broken_schemas_exit_with_2() {
    let missing = tlgen(&["diff", "no-such.tl", "id_changed.new.tl"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read no-such.tl"));
    assert!(missing.stdout.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.tl");
    std::fs::write(&broken, "foo#00000001 a:Nope = Foo;\n").unwrap();
    let out = tlgen(&["diff", "id_changed.old.tl", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown type `Nope`"), "{err}");
    assert!(err.contains("1 error in"), "{err}");

    let usage = tlgen(&[
        "diff",
        "id_changed.old.tl",
        "id_changed.new.tl",
        "--fail-on",
        "sometimes",
    ]);
    assert_eq!(usage.status.code(), Some(2));
}
