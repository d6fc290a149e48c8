//! Snapshot tests: the generated code of each fixture, the errors of each bad fixture, `--help`.

mod common;

use std::path::Path;
use std::process::Command;

fn relative(path: &Path) -> String {
    path.strip_prefix(common::root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn snapshot(name: &str, value: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, value);
    });
}

/// All files of a generated tree in one text, warnings first.
fn generated_text(path: &Path) -> String {
    generated_text_in(path, tlgen::lang::Lang::Rust)
}

/// [`generated_text`] in target language `lang`.
fn generated_text_in(path: &Path, lang: tlgen::lang::Lang) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let generated = tlgen::generate_source_lang(
        &relative(path),
        &text,
        None,
        "crate",
        tlgen::render::DEFAULT_RUNTIME_PATH,
        lang,
    )
    .unwrap_or_else(|e| panic!("{} should generate:\n{e}", path.display()));
    let mut out = String::new();
    for w in &generated.warnings {
        out.push_str(&format!("{w}\n\n"));
    }
    for f in &generated.files {
        out.push_str(&format!("==> {}\n{}\n", f.path.display(), f.contents));
    }
    out
}

#[test]
fn each_fixture_generates_the_reviewed_code() {
    let files = common::fixtures("tests/fixtures");
    assert!(files.len() >= 10, "fixtures are missing");
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        snapshot(&format!("fixture_{stem}"), &generated_text(&path));
    }
}

#[test]
fn each_fixture_generates_the_reviewed_python() {
    let files = common::fixtures("tests/fixtures");
    assert!(files.len() >= 10, "fixtures are missing");
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        snapshot(
            &format!("python_fixture_{stem}"),
            &generated_text_in(&path, tlgen::lang::Lang::Python),
        );
    }
}

#[test]
fn output_does_not_depend_on_definition_order() {
    for path in common::fixtures("tests/fixtures") {
        let text = std::fs::read_to_string(&path).unwrap();
        // Reverse the paragraphs of each section, and the lines of paragraphs without comments
        // (blank lines and comments keep their meaning: a comment documents the line below it).
        let mut out = Vec::new();
        for (i, section) in text.split("---functions---").enumerate() {
            if i > 0 {
                out.push("---functions---".to_string());
            }
            let mut paragraphs: Vec<String> = section
                .split("\n\n")
                .map(|p| {
                    let mut lines: Vec<&str> = p.lines().collect();
                    if lines.iter().all(|l| !l.trim_start().starts_with("//")) {
                        lines.reverse();
                    }
                    lines.join("\n")
                })
                .collect();
            paragraphs.reverse();
            out.push(paragraphs.join("\n\n"));
        }
        let reordered = out.join("\n\n");
        for lang in tlgen::lang::Lang::ALL {
            let generate = |text: &str| {
                tlgen::generate_source_lang("f.tl", text, None, "crate", "::tlgen_runtime", lang)
                    .unwrap()
            };
            let (a, b) = (generate(&text), generate(&reordered));
            assert_eq!(
                a.files,
                b.files,
                "{} depends on order ({lang})",
                path.display()
            );
        }
    }
}

#[test]
fn each_bad_fixture_reports_every_error_and_touches_nothing() {
    let bin = env!("CARGO_BIN_EXE_tlgen");
    for path in common::fixtures("tests/fixtures/bad") {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let out_dir = tempfile::tempdir().unwrap();
        let sentinel = out_dir.path().join("keep.rs");
        std::fs::write(&sentinel, "// not generated\n").unwrap();
        let output = Command::new(bin)
            .current_dir(common::root())
            .arg("--schema")
            .arg(relative(&path))
            .arg("--out")
            .arg(out_dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let entries: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1, "{stem}: --out was touched");
        assert_eq!(
            std::fs::read_to_string(&sentinel).unwrap(),
            "// not generated\n"
        );
        let status = output.status.code();
        let report = format!("exit status: {status:?}\n{stderr}");
        snapshot(&format!("bad_{stem}"), &report);
    }
}

#[test]
fn help_is_the_reviewed_text() {
    let output = Command::new(env!("CARGO_BIN_EXE_tlgen"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    snapshot("cli_help", &String::from_utf8_lossy(&output.stdout));
}

#[test]
fn check_mode_lists_changes_and_writes_nothing() {
    let bin = env!("CARGO_BIN_EXE_tlgen");
    let out_dir = tempfile::tempdir().unwrap();
    let schema = common::root().join("tests/fixtures/basic.tl");
    let run = |check: bool| {
        let mut cmd = Command::new(bin);
        cmd.arg("--schema")
            .arg(&schema)
            .arg("--out")
            .arg(out_dir.path());
        if check {
            cmd.arg("--check");
        }
        cmd.output().unwrap()
    };
    let first = run(true);
    assert_eq!(first.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&first.stdout).contains("would write"));
    assert!(
        !out_dir.path().join("lib.rs").exists(),
        "--check wrote a file"
    );
    assert!(run(false).status.success());
    let lib = out_dir.path().join("lib.rs");
    let written = std::fs::metadata(&lib).unwrap().modified().unwrap();
    let again = run(true);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert!(run(false).status.success());
    assert_eq!(
        std::fs::metadata(&lib).unwrap().modified().unwrap(),
        written,
        "an unchanged file was rewritten"
    );
    // A generated file the schema no longer produces is listed, then removed.
    let stale = out_dir.path().join("types/old.rs");
    std::fs::write(
        &stale,
        format!(
            "{}0.0.0 from x.tl (layer 1). Do not edit.\n",
            tlgen::HEADER_PREFIX
        ),
    )
    .unwrap();
    let listed = run(true);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("would remove"));
    assert!(run(false).status.success());
    assert!(!stale.exists());
}
