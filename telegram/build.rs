//! Generates Telegram's API into `$OUT_DIR/api/`, mounted at `crate::api`.
//!
//! The schema: `$TLGEN_API_TL` when set, else `../shared/schemas/telegram/api.tl` beside the
//! workspace. Neither existing is a build error naming both.
//!
//! The layer: the schema's `// LAYER N` line; else `$TLGEN_API_LAYER`; else, for the reference
//! schema (TDLib's copy, which has no such line), 228 as `../shared/schemas/README.md` gives it.

use std::path::{Path, PathBuf};

const ENV: &str = "TLGEN_API_TL";
const LAYER_ENV: &str = "TLGEN_API_LAYER";
/// The layer of `../shared/schemas/telegram/api.tl` (`../shared/schemas/README.md`).
const REFERENCE_LAYER: i32 = 228;

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let default = manifest.join("../../shared/schemas/telegram/api.tl");
    println!("cargo::rerun-if-env-changed={ENV}");
    println!("cargo::rerun-if-env-changed={LAYER_ENV}");
    let from_env = std::env::var_os(ENV).is_some();
    let schema = match std::env::var_os(ENV) {
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                fail(&format!(
                    "{ENV} is set to {}, which is not a file.\n\
                     Point {ENV} at an api.tl (e.g. `tlgen fetch`), or unset it to use {}.",
                    path.display(),
                    default.display()
                ));
            }
            path
        }
        None => {
            if !default.is_file() {
                fail(&format!(
                    "no Telegram schema: {ENV} is not set and {} does not exist.\n\
                     Set {ENV}=/path/to/api.tl, or put the reference schemas in ../shared beside the checkout.",
                    default.display()
                ));
            }
            default
        }
    };
    println!("cargo::rerun-if-changed={}", schema.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut config = tlgen::Config::new(&schema, out.join("api"));
    config.module_path = Some("crate::api".to_string());
    let text = std::fs::read_to_string(&schema)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", schema.display())));
    if !text.lines().any(|l| l.trim_start().starts_with("// LAYER")) {
        config.layer = Some(match std::env::var(LAYER_ENV) {
            Ok(v) => v
                .trim()
                .parse()
                .unwrap_or_else(|_| fail(&format!("{LAYER_ENV}={v:?} is not a layer number"))),
            Err(_) if !from_env => REFERENCE_LAYER,
            Err(_) => fail(&format!(
                "{} has no `// LAYER N` line: set {LAYER_ENV} to its layer",
                schema.display()
            )),
        });
    }
    let report = match tlgen::generate(&config) {
        Ok(report) => report,
        Err(e) => fail(&format!("{}: {e}", schema.display())),
    };
    for warning in &report.warnings {
        println!("cargo::warning={}", warning.message);
    }
    // Finds users, chats and messages in any result or update, for the peer cache (messages
    // say where a `min` user or channel was seen).
    let opts = tlgen::render::RenderOptions {
        schema_file: "api.tl".to_string(),
        layer: report.schema.layer,
        module_path: "crate::api".to_string(),
        runtime_path: tlgen::render::DEFAULT_RUNTIME_PATH.to_string(),
    };
    match tlgen::render::visitor(&report.schema, &["User", "Chat", "Message"], &opts) {
        Ok(source) => write(&out.join("visit.rs"), &source),
        Err(e) => fail(&format!("the visitor of {}: {e}", schema.display())),
    }
    let root = out.join("api").join("mod.rs");
    write(
        &out.join("api.rs"),
        &format!(
            "/// Telegram's API, generated from the schema at build time.\n\
             // Constructors without a doc comment in the schema have no doc line.\n\
             #[allow(missing_docs)]\n#[path = {:?}]\npub mod api;\n\
             #[path = {:?}]\npub mod visit;\n",
            root.display().to_string(),
            out.join("visit.rs").display().to_string()
        ),
    );
}

fn write(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        fail(&format!("cannot write {}: {e}", path.display()));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
