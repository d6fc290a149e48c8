//! Tests of the `tlgen` command line as users meet it: one exit-code rule and one error style
//! for every subcommand, `--quiet` and `--check` output, schema errors, and `fetch` errors.
//!
//! Exit status: 0 done; 1 a finding (schema errors, `--check` changes, `diff --fail-on`);
//! 2 usage, file or download errors. Errors: `error: <message>` on stderr, once.

use std::path::Path;
use std::process::{Command, Output};

/// A schema with no error and one warning (an explicit id that differs from the computed one).
const WARNED: &str = "boolFalse#bc799737 = Bool;\nboolTrue#997275b5 = Bool;\n\
                      inputPeerEmpty#7f3b18eb = InputPeer;\n";

fn tlgen(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tlgen"))
        .args(args)
        .current_dir(dir)
        .env_remove("TLGEN_FETCH_BASE_URL")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit status 2, stderr exactly one line `error: ...` containing `needle`, nothing on stdout.
fn assert_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(stdout(out).is_empty(), "stdout: {}", stdout(out));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
}

/// Lines that start an error.
fn errors(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.starts_with("error: ")).count()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn a_missing_schema_is_an_error_with_status_2_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.tl", WARNED);
    assert_error(
        &tlgen(&["--schema", "nope.tl", "--out", "gen"], dir.path()),
        "cannot read nope.tl",
    );
    assert_error(
        &tlgen(
            &["generate", "--schema", "nope.tl", "--out", "gen"],
            dir.path(),
        ),
        "cannot read nope.tl",
    );
    assert_error(
        &tlgen(&["check", "nope.tl"], dir.path()),
        "cannot read nope.tl",
    );
    assert_error(
        &tlgen(&["diff", "nope.tl", "ok.tl"], dir.path()),
        "cannot read nope.tl",
    );
    assert!(!dir.path().join("gen").exists());
}

#[test]
fn an_out_that_is_a_file_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.tl", WARNED);
    write(dir.path(), "file.txt", "not a directory\n");
    assert_error(
        &tlgen(&["--schema", "ok.tl", "--out", "file.txt"], dir.path()),
        "--out file.txt is a file, not a directory",
    );
    assert_error(
        &tlgen(&["--schema", "ok.tl", "--out", "file.txt/src"], dir.path()),
        "file.txt is a file, not a directory",
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("file.txt")).unwrap(),
        "not a directory\n"
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = tlgen(&["--schema", "a.tl"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    let out = tlgen(&["generate", "--no-such-flag"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn help_states_the_exit_status_rule() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["diff", "--help"], &["check", "--help"]] {
        let out = tlgen(args, dir.path());
        assert_eq!(out.status.code(), Some(0));
        let help = stdout(&out);
        assert!(help.contains("Exit status: 0 done; 1 a finding"), "{help}");
    }
}

#[test]
fn schema_errors_are_a_finding_with_status_1_and_quiet_hides_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let broken = format!("{WARNED}foo#00000001 x:InputPee = Foo;\n");
    write(dir.path(), "broken.tl", &broken);
    for quiet in [false, true] {
        let mut args = vec!["--schema", "broken.tl", "--out", "gen"];
        if quiet {
            args.push("--quiet");
        }
        let out = tlgen(&args, dir.path());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(stdout(&out).is_empty());
        assert_eq!(errors(&err), 1, "{err}");
        assert!(
            err.contains(
                "unknown type `InputPee`: no constructor builds it; did you mean `InputPeer`?"
            ),
            "{err}"
        );
        assert!(
            err.contains("1 error in broken.tl; nothing was written"),
            "{err}"
        );
        assert_eq!(err.contains("warning: "), !quiet, "quiet={quiet}: {err}");
    }
    assert!(!dir.path().join("gen").exists());

    let out = tlgen(&["check", "broken.tl", "--quiet"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("warning: "));
}

#[test]
fn a_definition_cut_short_is_one_error_pointing_at_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cut.tl",
        "boolTrue#997275b5 = Bool;\nuser#12345678 flags:# id:long access_hash\n\
         inputPeerEmpty#7f3b18ea = InputPeer;\n",
    );
    let out = tlgen(&["check", "cut.tl"], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(errors(&err), 1, "{err}");
    assert!(
        err.contains(
            "error: syntax error: incomplete definition `user#12345678`: expected `= Type;` before the next definition\n --> cut.tl:2:42\n"
        ),
        "{err}"
    );
    assert!(err.contains("1 error in cut.tl"), "{err}");
}

#[test]
fn check_reports_up_to_date_and_changes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.tl", WARNED);
    let out = tlgen(
        &["--schema", "ok.tl", "--out", "gen", "--quiet"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty() && stderr(&out).is_empty());

    let out = tlgen(
        &["--schema", "ok.tl", "--out", "gen", "--check", "--quiet"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());

    let out = tlgen(
        &["--schema", "ok.tl", "--out", "gen", "--check"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let files = std::fs::read_dir(dir.path().join("gen")).unwrap().count();
    assert_eq!(stdout(&out), format!("up to date: {files} files in gen\n"));

    write(
        dir.path(),
        "ok.tl",
        &format!("{WARNED}inputPeerSelf#7da07ec9 = InputPeer;\n"),
    );
    let out = tlgen(
        &["--schema", "ok.tl", "--out", "gen", "--check"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("would write gen"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_subcommand_summarises_a_good_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.tl", &format!("{WARNED}// LAYER 7\n"));
    let out = tlgen(&["check", "ok.tl"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "ok: 1 constructor, 0 functions, 1 type, layer 7 in ok.tl\n"
    );
    assert!(stderr(&out).starts_with("warning: explicit id"));
}

#[test]
fn diff_fail_on_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.tl", WARNED);
    write(
        dir.path(),
        "new.tl",
        "boolFalse#bc799737 = Bool;\nboolTrue#997275b5 = Bool;\n",
    );
    let out = tlgen(
        &["diff", "old.tl", "new.tl", "--fail-on", "breaking"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_failed_download_names_the_url_once_with_a_short_cause() {
    // A port nothing listens on: bind one, note it, close it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/api.tl");
    let out = tlgen(
        &[
            "fetch",
            "--source",
            &url,
            "--out",
            "api.tl",
            "--timeout",
            "5",
        ],
        dir.path(),
    );
    assert_error(&out, &format!("cannot download {url}: connection refused"));
    assert_eq!(stderr(&out).matches(&url).count(), 1, "{}", stderr(&out));
    assert!(!dir.path().join("api.tl").exists());

    let out = tlgen(
        &["fetch", "--source", "gitlab", "--out", "api.tl"],
        dir.path(),
    );
    assert_error(&out, "unknown source `gitlab`");
}
