//! The generated code for real schemas compiles under `#![forbid(unsafe_code)]` and
//! `#![deny(warnings)]`, and round-trips:
//! random valid bytes of every constructor and function of `telegram/api.tl` decode, encode to the
//! same bytes, and decode to an equal value. Also golden bytes and the nesting bound.
//!
//! The scratch workspace lives in `target/tlgen-it/` and is built with the cargo that runs the tests.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use tlgen::ir::Section;
use tlgen::ir::{Definition, FieldKind, Name, Schema, Ty};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Builds valid serialized values from the IR.
struct Samples<'a> {
    schema: &'a Schema,
    rng: Rng,
}

fn write_tl_bytes(out: &mut Vec<u8>, data: &[u8]) {
    tlgen_runtime::tl::write_bytes(out, data);
}

impl<'a> Samples<'a> {
    fn ty(&mut self, ty: &Ty, out: &mut Vec<u8>, depth: u32) {
        assert!(depth < 60, "sample generation does not terminate at {ty:?}");
        match ty {
            Ty::Int => out.extend_from_slice(&self.rng.bytes(4)),
            Ty::Long => out.extend_from_slice(&self.rng.bytes(8)),
            Ty::Nat => out.extend_from_slice(&self.rng.bytes(4)),
            Ty::Double => {
                let v = (self.rng.next() as i32) as f64 / 7.0;
                out.extend_from_slice(&v.to_le_bytes());
            }
            Ty::String => {
                let cap = if self.rng.below(8) == 0 { 400 } else { 20 };
                let len = self.rng.below(cap);
                let s: String = (0..len)
                    .map(|_| ['a', 'Z', ' ', 'é', '字', '🙂', '0'][self.rng.below(7) as usize])
                    .collect();
                write_tl_bytes(out, s.as_bytes());
            }
            Ty::Bytes => {
                let cap = if self.rng.below(8) == 0 { 600 } else { 20 };
                let len = self.rng.below(cap) as usize;
                let b = self.rng.bytes(len);
                write_tl_bytes(out, &b);
            }
            Ty::Int128 => out.extend_from_slice(&self.rng.bytes(16)),
            Ty::Int256 => out.extend_from_slice(&self.rng.bytes(32)),
            Ty::Int512 => out.extend_from_slice(&self.rng.bytes(64)),
            Ty::Bool => {
                let id: u32 = if self.rng.below(2) == 0 {
                    0x997275b5
                } else {
                    0xbc799737
                };
                out.extend_from_slice(&id.to_le_bytes());
            }
            Ty::True => {}
            Ty::Object => panic!("Object fields are not sampled"),
            Ty::Vector { boxed, item } => {
                if *boxed {
                    out.extend_from_slice(&0x1cb5c415u32.to_le_bytes());
                }
                let n = if depth > 4 { 0 } else { self.rng.below(4) };
                out.extend_from_slice(&(n as i32).to_le_bytes());
                for _ in 0..n {
                    self.ty(item, out, depth + 1);
                }
            }
            Ty::Boxed { name } => {
                let def = self.pick(name, depth);
                out.extend_from_slice(&def.id.to_le_bytes());
                self.fields(def, out, depth + 1);
            }
            Ty::Bare { constructor } => {
                let def = self
                    .schema
                    .constructor(constructor)
                    .expect("bare constructor exists");
                self.fields(def, out, depth + 1);
            }
            Ty::Generic { .. } => {
                // The query of a generic function: `help.getConfig` (no fields).
                let def = self
                    .schema
                    .functions
                    .iter()
                    .find(|f| f.name.full() == "help.getConfig")
                    .unwrap();
                out.extend_from_slice(&def.id.to_le_bytes());
            }
        }
    }

    /// A constructor of `name`; deep down, one with the fewest required nested values.
    fn pick(&mut self, name: &Name, depth: u32) -> &'a Definition {
        let schema = self.schema;
        let ctors: Vec<&Definition> = schema.types[name]
            .constructors
            .iter()
            .filter_map(|c| schema.constructor(c))
            .collect();
        if depth < 6 {
            return ctors[self.rng.below(ctors.len() as u64) as usize];
        }
        let weight = |d: &Definition| {
            d.fields
                .iter()
                .filter(|f| {
                    matches!(
                        &f.kind,
                        FieldKind::Required {
                            ty: Ty::Boxed { .. } | Ty::Bare { .. }
                        }
                    )
                })
                .count()
        };
        ctors
            .into_iter()
            .min_by_key(|d| (weight(d), d.fields.len()))
            .unwrap()
    }

    fn fields(&mut self, def: &Definition, out: &mut Vec<u8>, depth: u32) {
        // Flag words: only bits some field uses, so that re-serializing gives the same bytes.
        let mut masks: BTreeMap<&str, u32> = BTreeMap::new();
        for f in &def.fields {
            if let FieldKind::Optional { flags, bit, .. } | FieldKind::FlagTrue { flags, bit } =
                &f.kind
            {
                let on = depth < 6 && self.rng.below(2) == 0;
                let m = masks.entry(flags.as_str()).or_default();
                if on {
                    *m |= 1 << bit;
                }
            }
        }
        for f in &def.fields {
            match &f.kind {
                FieldKind::Flags => {
                    let m = masks.get(f.name.as_str()).copied().unwrap_or(0);
                    out.extend_from_slice(&m.to_le_bytes());
                }
                FieldKind::Required { ty } => self.ty(ty, out, depth),
                FieldKind::Optional { flags, bit, ty } => {
                    if masks.get(flags.as_str()).copied().unwrap_or(0) & (1 << bit) != 0 {
                        self.ty(ty, out, depth);
                    }
                }
                FieldKind::FlagTrue { .. } => {}
            }
        }
    }
}

/// The generator's own view model of the api.tl crate: each file's views with the Rust path of
/// its module (`types::messages`).
fn api_views(schema: &Schema) -> Vec<(String, tlgen::render::FileView)> {
    let opts = tlgen::render::RenderOptions {
        schema_file: "api.tl".into(),
        layer: Some(228),
        module_path: "crate".into(),
        runtime_path: tlgen::render::DEFAULT_RUNTIME_PATH.into(),
    };
    let views = tlgen::render::views(schema, &opts).unwrap();
    views
        .into_iter()
        .map(|(_, file)| {
            let module =
                (file.path.trim_end_matches(".rs").trim_end_matches("/mod")).replace('/', "::");
            (module, file)
        })
        .collect()
}

/// Rust paths of the generated items, from the generator's own view model.
fn rust_paths(
    views: &[(String, tlgen::render::FileView)],
) -> (BTreeMap<String, String>, BTreeMap<String, (String, usize)>) {
    let mut enums = BTreeMap::new();
    let mut functions = BTreeMap::new();
    for (module, file) in views {
        for e in &file.enums {
            enums.insert(e.tl_name.clone(), format!("gen_api::{module}::{}", e.name));
        }
        for s in file.structs.iter().filter(|s| s.function) {
            functions.insert(
                s.tl_name.clone(),
                (format!("gen_api::{module}::{}", s.name), s.generics.len()),
            );
        }
    }
    (enums, functions)
}

fn write_if_changed(path: &Path, contents: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(contents) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

/// Generates `schema` into `dir/src` as a crate root under `#![forbid(unsafe_code)]` and
/// `#![deny(warnings)]`, as a user's crate may be; no generated file says `unsafe` at all.
fn generate_crate(dir: &Path, name: &str, schema: &Path, layer: Option<i32>) {
    write_manifest(dir, name);
    let config = tlgen::Config {
        schema: schema.to_path_buf(),
        out: dir.join("src"),
        layer,
        check: false,
        module_path: None,
        runtime_path: None,
        lang: tlgen::lang::Lang::Rust,
    };
    tlgen::generate(&config).unwrap_or_else(|e| panic!("{}: {e}", schema.display()));
    let mut pending = vec![dir.join("src")];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(!text.contains("unsafe"), "{} says `unsafe`", path.display());
            }
        }
    }
    let lib = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    if !text.contains(LINTS) {
        let (header, rest) = text.split_once('\n').unwrap();
        std::fs::write(&lib, format!("{header}\n{LINTS}{rest}")).unwrap();
    }
}

fn write_workspace(ws: &Path, members: &[&str]) {
    write_if_changed(
        &ws.join("Cargo.toml"),
        &format!(
            "[workspace]\nmembers = {members:?}\nresolver = \"2\"\n\n[profile.dev]\ndebug = false\n"
        ),
    );
}

/// Generates every fixture of `tests/fixtures` as a module of one crate (`crate::cycles`, ...),
/// under the same lints as [`generate_crate`]: each fixture's code compiles, the types of the
/// cycle fixture have a finite size.
fn generate_fixtures_crate(dir: &Path) {
    write_manifest(dir, "gen-fixtures");
    let fixtures = common::fixtures("tests/fixtures");
    let mut lib = String::from(LINTS);
    for path in &fixtures {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let config = tlgen::Config {
            schema: path.clone(),
            out: dir.join("src").join(&stem),
            layer: Some(1),
            check: false,
            module_path: Some(format!("crate::{stem}")),
            runtime_path: None,
            lang: tlgen::lang::Lang::Rust,
        };
        tlgen::generate(&config).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        writeln!(lib, "pub mod {stem};").unwrap();
    }
    assert!(fixtures.len() >= 10, "fixtures are missing");
    write_if_changed(&dir.join("src/lib.rs"), &lib);
}

/// The lints a user's crate may hold generated code under.
const LINTS: &str = "#![forbid(unsafe_code)]\n#![deny(warnings)]\n";

/// A crate `name` in `dir` that depends on this checkout's runtime.
fn write_manifest(dir: &Path, name: &str) {
    let runtime = common::root().join("runtime");
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\ntlgen-runtime = {{ path = {:?} }}\n",
            runtime.to_string_lossy()
        ),
    );
}

fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap()
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn generated_crates_compile_and_round_trip() {
    let ws = common::root().join("target/tlgen-it");
    generate_fixtures_crate(&ws.join("gen-fixtures"));
    let (Some(api), Some(mt), Some(mtproto)) = (
        common::shared("schemas/telegram/api.tl"),
        common::shared("schemas/mtproto/mt.tl"),
        common::shared("schemas/mtproto/mtproto_api.tl"),
    ) else {
        // The fixtures alone.
        write_workspace(&ws, &["gen-fixtures"]);
        let build = cargo(&ws, &["build", "-p", "gen-fixtures"]);
        let stderr = String::from_utf8_lossy(&build.stderr);
        assert!(build.status.success(), "fixtures do not build:\n{stderr}");
        assert!(!stderr.contains("warning:"), "warnings:\n{stderr}");
        return;
    };
    write_workspace(&ws, &["gen-api", "gen-fixtures", "gen-mt", "gen-mtproto"]);
    generate_crate(&ws.join("gen-api"), "gen-api", &api, Some(228));
    generate_crate(&ws.join("gen-mt"), "gen-mt", &mt, None);
    generate_crate(&ws.join("gen-mtproto"), "gen-mtproto", &mtproto, None);

    // Samples of every constructor (through its boxed type) and every function.
    let text = std::fs::read_to_string(&api).unwrap();
    let (schema, _) = tlgen::check("api.tl", &text);
    let schema = schema.unwrap();
    let views = api_views(&schema);
    let (enums, functions) = rust_paths(&views);
    let mut kinds: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    let mut gen = Samples {
        schema: &schema,
        rng: Rng(0x9e37_79b9_7f4a_7c15),
    };
    let per_definition = 6;
    for def in schema.definitions() {
        let path = match def.section {
            Section::Types => enums[&match &def.result {
                Ty::Boxed { name } => name.full(),
                _ => unreachable!(),
            }]
                .clone(),
            Section::Functions => {
                let (path, generics) = &functions[&def.name.full()];
                if *generics > 0 {
                    format!("{path}<gen_api::functions::help::GetConfig>")
                } else {
                    path.clone()
                }
            }
        };
        let kind = kinds.iter().position(|k| *k == path).unwrap_or_else(|| {
            kinds.push(path);
            kinds.len() - 1
        });
        for _ in 0..per_definition {
            let mut bytes = def.id.to_le_bytes().to_vec();
            gen.fields(def, &mut bytes, 1);
            samples.extend_from_slice(&(kind as u32).to_le_bytes());
            samples.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            samples.extend_from_slice(&bytes);
        }
    }
    let definitions = schema.definitions().count();
    std::fs::write(ws.join("samples.bin"), &samples).unwrap();

    let mut dispatch = String::new();
    for (i, k) in kinds.iter().enumerate() {
        writeln!(dispatch, "        {i} => check::<{k}>(bytes),").unwrap();
    }
    let harness = HARNESS.replace("/*DISPATCH*/", &dispatch);
    write_if_changed(&ws.join("gen-api/src/bin/roundtrip.rs"), &harness);
    // A layout program written by an earlier version of this test is no longer wanted.
    let _ = std::fs::remove_file(ws.join("gen-api/src/bin/layout.rs"));

    let build = cargo(&ws, &["build", "--workspace", "--all-targets"]);
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(
        build.status.success(),
        "generated crates do not build:\n{stderr}"
    );
    assert!(
        !stderr.contains("warning:"),
        "warnings while building generated crates:\n{stderr}"
    );

    let run = cargo(
        &ws,
        &[
            "run",
            "-q",
            "-p",
            "gen-api",
            "--bin",
            "roundtrip",
            "--",
            "samples.bin",
        ],
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "round trip failed:\n{stdout}\n{stderr}"
    );
    let expected = format!("round trip ok: {} samples", definitions * per_definition);
    assert!(
        stdout.contains(&expected),
        "{stdout}\n(expected `{expected}`)"
    );
    println!("{stdout}");
}

const HARNESS: &str = r#"//! Round-trip harness written by tests/generated_crate.rs.
use std::fmt::Debug;

use tlgen_runtime::{Deserializable, DecodeErrorKind, Serializable};

fn check<T: Deserializable + Serializable + PartialEq + Clone + Debug>(bytes: &[u8]) -> Result<(), String> {
    let value = T::from_bytes(bytes).map_err(|e| format!("decode: {e}"))?;
    let again = value.to_bytes();
    if again != bytes {
        return Err(format!("re-encoded bytes differ: {} vs {} bytes", again.len(), bytes.len()));
    }
    let value2 = T::from_bytes(&again).map_err(|e| format!("decode of re-encoded: {e}"))?;
    if value2 != value {
        return Err("decoded values differ".into());
    }
    if value.clone() != value {
        return Err("a clone differs".into());
    }
    Ok(())
}

fn dispatch(kind: u32, bytes: &[u8]) -> Result<(), String> {
    match kind {
/*DISPATCH*/
        _ => Err(format!("unknown kind {kind}")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.chunks(4).map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>()).collect::<Vec<_>>().join(" ")
}

fn golden() {
    use gen_api::{enums, functions};
    // Bytes two independent libraries produce for these calls.
    let update = functions::account::UpdateProfile {
        first_name: Some("Dan".into()),
        about: Some("hi".into()),
        ..Default::default()
    };
    assert_eq!(hex(&update.to_bytes()), "75575178 05000000 0344616e 02686900");
    // Debug, Clone and PartialEq as derives give them.
    assert_eq!(
        format!("{update:?}"),
        "UpdateProfile { first_name: Some(\"Dan\"), last_name: None, about: Some(\"hi\") }"
    );
    let mut other = update.clone();
    assert_eq!(other, update);
    other.last_name = Some(String::new());
    assert_ne!(other, update);
    // Debug names a field as the struct does where the schema's name had to change (`A`, `M1`).
    let srp = gen_api::types::InputCheckPasswordSrp { srp_id: 1, a: vec![2], m1: vec![] };
    assert_eq!(format!("{srp:?}"), "InputCheckPasswordSrp { srp_id: 1, a: [2], m1: [] }");
    let privacy = functions::account::SetPrivacy {
        key: enums::InputPrivacyKey::StatusTimestamp,
        rules: vec![enums::InputPrivacyRule::ValueAllowContacts],
    };
    assert_eq!(hex(&privacy.to_bytes()), "e81cf8c9 18cb964f 15c4b51c 01000000 7be0090d");
    // An error names its field also late in a wide (flat, `()`-filled) layout: `user` has 53
    // fields; cut inside `lang_code`, field 43.
    let user = gen_api::types::User {
        id: 7,
        first_name: Some("Dan".into()),
        lang_code: Some("en".into()),
        ..Default::default()
    };
    let bytes = enums::User::from(user.clone()).to_bytes();
    assert_eq!(enums::User::from_bytes(&bytes).unwrap(), enums::User::from(user));
    let err = enums::User::from_bytes(&bytes[..bytes.len() - 2]).unwrap_err();
    assert!(err.to_string().ends_with(" in user.lang_code"), "{err}");
    assert_eq!(gen_api::LAYER, 228);
    assert_eq!(gen_api::name_of(0x7d8375da), Some("inputMediaUploadedPhoto"));
}

/// textBold(textBold(... textEmpty)) 10,000 deep: a typed error, not a stack overflow, on a 2 MiB stack.
fn deep_nesting() {
    let mut bytes = Vec::new();
    for _ in 0..10_000 {
        bytes.extend_from_slice(&0x6724abc4u32.to_le_bytes());
    }
    bytes.extend_from_slice(&0xdc3d824fu32.to_le_bytes());
    let err = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || gen_api::enums::RichText::from_bytes(&bytes).unwrap_err())
        .unwrap()
        .join()
        .unwrap();
    assert!(matches!(err.kind(), DecodeErrorKind::TooDeep { limit: 64 }), "{err}");
    // Within the limit it decodes.
    let mut ok = Vec::new();
    for _ in 0..60 {
        ok.extend_from_slice(&0x6724abc4u32.to_le_bytes());
    }
    ok.extend_from_slice(&0xdc3d824fu32.to_le_bytes());
    assert!(gen_api::enums::RichText::from_bytes(&ok).is_ok());
    let unknown = gen_api::enums::InputPeer::from_bytes(&[1, 2, 3, 4]).unwrap_err();
    assert_eq!(unknown.to_string(), "unknown constructor id 0x04030201 for type InputPeer at byte 0");
}

fn main() {
    let path = std::env::args().nth(1).expect("samples file");
    let data = std::fs::read(&path).expect("samples file is readable");
    let mut rest = &data[..];
    let (mut count, mut failures, mut mutated) = (0usize, Vec::new(), 0usize);
    while rest.len() >= 8 {
        let kind = u32::from_le_bytes(rest[..4].try_into().unwrap());
        let len = u32::from_le_bytes(rest[4..8].try_into().unwrap()) as usize;
        let bytes = &rest[8..8 + len];
        rest = &rest[8 + len..];
        count += 1;
        if let Err(e) = dispatch(kind, bytes) {
            failures.push(format!("kind {kind}, id {:02x?}: {e}", &bytes[..4]));
        }
        // Untrusted input: truncated and bit-flipped copies decode to an error or a value, never
        // a panic (a panic aborts this harness and fails the test).
        let mut seed = (count as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let cut = (seed as usize) % (bytes.len() + 1);
            let _ = dispatch(kind, &bytes[..cut]);
            let mut flipped = bytes.to_vec();
            let at = (seed >> 32) as usize % flipped.len();
            flipped[at] ^= 1 << (seed % 8);
            let _ = dispatch(kind, &flipped);
            mutated += 2;
        }
    }
    golden();
    deep_nesting();
    if !failures.is_empty() {
        for f in failures.iter().take(20) {
            eprintln!("{f}");
        }
        eprintln!("{} of {count} samples failed", failures.len());
        std::process::exit(1);
    }
    println!("round trip ok: {count} samples; {mutated} truncated or flipped copies decoded without a panic");
}
"#;
