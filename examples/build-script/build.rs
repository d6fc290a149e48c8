//! Generates the bindings of `schema.tl` into `$OUT_DIR/tl/`, mounted at `crate::tl`.

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=schema.tl");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut config = tlgen::Config::new("schema.tl", out.join("tl"));
    config.module_path = Some("crate::tl".to_string());
    match tlgen::generate(&config) {
        Ok(report) => {
            for warning in &report.warnings {
                println!("cargo::warning={}", warning.message);
            }
        }
        Err(e) => {
            // Every schema error, with file, line, column and caret.
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    // `#[path]` needs a literal, so the module declaration is written out too and included.
    let root = out.join("tl").join("mod.rs");
    std::fs::write(
        out.join("tl.rs"),
        format!("#[path = {:?}]\npub mod tl;\n", root.display().to_string()),
    )
    .expect("OUT_DIR is writable");
}
