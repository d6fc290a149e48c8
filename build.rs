//! Tells the tests whether the reference data in `../shared` (schemas and vectors beside the
//! checkout, or `TLGEN_SHARED_DIR`) is there.
//!
//! Without it, and outside CI, the tests that need it are compiled with
//! `#[ignore = "needs ../shared: reference schemas"]` (cfg `tlgen_shared_missing`), so that
//! `cargo test` lists them as ignored. With `CI=true` they are never ignored: they fail and say
//! what is missing. The directory is passed on as `TLGEN_SHARED_DIR` (compile-time environment).
//!
//! The same for the tests that run Python (`tests/python.rs`): without an interpreter
//! (`TLGEN_PYTHON`, else `.venv/bin/python`, which `.ci/run` makes) they are ignored (cfg
//! `tlgen_python_missing`), and the mypy test also when that interpreter cannot import mypy (cfg
//! `tlgen_mypy_missing`); never with `CI=true`.

use std::path::PathBuf;

#[path = "build/python_probe.rs"]
mod python_probe;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tlgen_shared_missing)");
    println!("cargo::rustc-check-cfg=cfg(tlgen_python_missing)");
    println!("cargo::rustc-check-cfg=cfg(tlgen_mypy_missing)");
    println!("cargo::rerun-if-env-changed=TLGEN_PYTHON");
    println!("cargo::rerun-if-env-changed=TLGEN_SHARED_DIR");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build/python_probe.rs");
    let dir = std::env::var_os("TLGEN_SHARED_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        PathBuf::from,
    );
    println!("cargo::rustc-env=TLGEN_SHARED_DIR={}", dir.display());
    if dir.is_dir() {
        // New or changed reference files re-run the tests' build.
        println!("cargo::rerun-if-changed={}", dir.display());
    } else if std::env::var("CI").as_deref() != Ok("true") {
        // Not watched while missing (a missing path would re-run this script on every build):
        // after adding ../shared, `touch build.rs` or set TLGEN_SHARED_DIR.
        println!("cargo::rustc-cfg=tlgen_shared_missing");
    }
    python();
}

/// The tests' Python: whether it is there, and whether it has mypy.
fn python() {
    if std::env::var("CI").as_deref() == Ok("true") {
        return;
    }
    let path = std::env::var_os("TLGEN_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
        PathBuf::from,
    );
    if !path.exists() {
        // Not watched while missing, as ../shared above: `.ci/run` sets TLGEN_PYTHON, which
        // re-runs this script; otherwise `touch build.rs` after making .venv.
        println!("cargo::rustc-cfg=tlgen_python_missing");
        println!("cargo::rustc-cfg=tlgen_mypy_missing");
        return;
    }
    println!("cargo::rerun-if-changed={}", path.display());
    if !python_probe::imports(&path, "mypy") {
        println!("cargo::rustc-cfg=tlgen_mypy_missing");
    }
}
