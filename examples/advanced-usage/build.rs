//! Whether the Kurigram test (`tests/kurigram.rs`) can run: it needs a Python that imports
//! `pyrogram` (`TLGEN_PYTHON`, else `.venv/bin/python` at the workspace root, which `.ci/run`
//! makes). Without one the test is compiled as ignored, with the reason (cfg
//! `tlgen_kurigram_missing`), so that `cargo test` does not list it as passed; with `CI=true` it
//! is never ignored.

use std::path::PathBuf;

#[path = "../../build/python_probe.rs"]
mod python_probe;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tlgen_kurigram_missing)");
    println!("cargo::rerun-if-env-changed=TLGEN_PYTHON");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../../build/python_probe.rs");
    if std::env::var("CI").as_deref() == Ok("true") {
        return;
    }
    let path = std::env::var_os("TLGEN_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
        PathBuf::from,
    );
    if path.exists() {
        // Not watched while missing (a missing path would re-run this script on every build):
        // `.ci/run` sets TLGEN_PYTHON, which re-runs it; otherwise `touch build.rs`.
        println!("cargo::rerun-if-changed={}", path.display());
    }
    let kurigram = path.exists() && python_probe::imports(&path, "pyrogram");
    if !kurigram {
        println!("cargo::rustc-cfg=tlgen_kurigram_missing");
    }
}
