//! The binary's failures: bad arguments and files give one line on stderr naming the problem and a non-zero
//! exit; a backtrace only when asked for (RUST_BACKTRACE).
use std::process::{Command, Output};

fn run(args: &[&str], backtrace: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_plasticore"));
    c.args(args).env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
    if let Some(v) = backtrace {
        c.env("RUST_BACKTRACE", v);
    }
    c.output().unwrap()
}

/// Exactly one non-empty stderr line, starting with `error:` and containing every word of `names`.
fn one_line_error(args: &[&str], code: i32, names: &[&str]) {
    let o = run(args, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: exit status; stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got:\n{err}");
    assert!(lines[0].starts_with("error: "), "{args:?}: {}", lines[0]);
    for n in names {
        assert!(lines[0].contains(n), "{args:?}: `{n}` not named in: {}", lines[0]);
    }
    assert!(!err.contains("panicked") && !err.contains("backtrace") && !err.contains("Stack"), "{args:?}: {err}");
}

#[test]
fn bad_arguments_are_one_line_and_exit_2() {
    one_line_error(&["trian"], 2, &["'trian'", "'train'", "plasticore --help"]);
    one_line_error(&["train", "--tsk", "dmts"], 2, &["'--tsk'", "'--task'", "plasticore train --help"]);
    one_line_error(&["train"], 2, &["--task", "plasticore train --help"]);
    one_line_error(&["train", "--task", "dmts", "--iters", "many"], 2, &["'many'", "--iters"]);
    one_line_error(&["bench", "w2", "--algo", "zz"], 2, &["'zz'", "possible values", "plasticore bench w2 --help"]);
}

#[test]
fn bad_values_and_files_are_one_line_and_exit_1() {
    let missing = std::env::temp_dir().join("plasticore-cli-errors-no-such-file.csv.gz");
    let m = missing.to_string_lossy().into_owned();
    let out = std::env::temp_dir().join(format!("plasticore-cli-errors-{}", std::process::id()));
    let o = out.to_string_lossy().into_owned();
    one_line_error(&["train", "--task", "digits", "--data", &m, "--out", &o], 1, &[&m, "No such file"]);
    one_line_error(&["train", "--task", "dmts", "--batch", "0", "--out", &o], 1, &["--batch"]);
    one_line_error(&["image", "info", &m], 1, &[&m]);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn help_and_version_still_succeed() {
    for args in [&["--help"][..], &["--version"], &["train", "--help"]] {
        let o = run(args, None);
        assert!(o.status.success(), "{args:?}");
        assert!(!o.stdout.is_empty());
    }
}

#[test]
fn a_backtrace_only_when_asked_for() {
    let missing = std::env::temp_dir().join("plasticore-cli-errors-no-such-file.csv.gz");
    let args = ["train", "--task", "digits", "--data", &missing.to_string_lossy()];
    for off in [None, Some("0")] {
        let o = run(&args, off);
        assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1, "RUST_BACKTRACE={off:?}");
    }
    let o = run(&args, Some("1"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.lines().next().unwrap().starts_with("error: "), "{err}");
    assert!(err.lines().count() > 1, "RUST_BACKTRACE=1 printed no backtrace: {err}");
}
