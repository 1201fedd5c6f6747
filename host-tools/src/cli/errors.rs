//! How the binary fails: one line on stderr naming the problem, and a non-zero exit.
//!
//! - a bad argument (clap): `error: <what clap found> (tip: …) — see `plasticore … --help``, exit 2;
//!   `--help` and `--version` print as usual and exit 0, `plasticore` alone prints the overview (exit 2);
//! - a failed command (`anyhow::Error`): `error: <context>: <cause>: …` (the whole chain on one line), exit 1;
//! - a panic (a bug: no input should cause one): `error: internal error (a bug), please report it: <message>
//!   at <file:line>`, exit 101.
//!
//! A backtrace is printed only when asked for with `RUST_BACKTRACE=1` (or `full`), for errors as for panics.
use std::process::ExitCode;

/// True if the user asked for backtraces (`RUST_BACKTRACE` set and not `0`).
fn backtrace_wanted() -> bool {
    std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0")
}

/// Replace the default panic message (two lines and a backtrace hint) by one line.
pub fn install_panic_hook() {
    if backtrace_wanted() {
        return; // the default hook prints the message and the backtrace
    }
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error (a bug), please report it: {}{at}", one_line(&msg));
    }));
}

/// Collapse whitespace runs that contain a line break into "; " so a message stays on one line.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

/// A clap parse error: help and version print normally; anything else becomes one line, exit 2.
/// `cmd` is the command tree, used to name the subcommand whose `--help` to suggest.
pub fn usage(e: clap::Error, cmd: &clap::Command) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // `plasticore` alone: the overview is the most useful answer (clap's default, exit 2)
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    // clap renders: "error: …\n\n  tip: …\n\nUsage: plasticore train [OPTIONS] …\n\nFor more information, try '--help'."
    // (the first paragraph may go on over indented lines: "the following required arguments were not
    // provided:\n  --task <TASK>")
    let text = e.render().to_string();
    let mut paras = text.split("\n\n").map(|p| p.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>());
    let first = paras.next().map(|p| p.join(" ")).filter(|p| !p.is_empty()).unwrap_or_else(|| "error: invalid arguments".into());
    let first = if first.starts_with("error:") { first } else { format!("error: {first}") };
    let rest: Vec<String> = paras.flatten().map(str::to_string).collect();
    let tips: Vec<&str> = rest.iter().map(String::as_str).filter(|l| l.starts_with("tip:") || l.starts_with("[possible values")).collect();
    let tip = if tips.is_empty() { String::new() } else { format!(" ({})", tips.join("; ")) };
    // the subcommand the user named, if it is one (nested ones such as `bench w2` included)
    let mut path = vec![cmd.get_name().to_string()];
    let mut at = cmd;
    for word in std::env::args().skip(1) {
        match at.find_subcommand(&word) {
            Some(sub) => {
                path.push(word);
                at = sub;
            }
            None => break,
        }
    }
    eprintln!("{first}{tip}; see `{} --help`", path.join(" "));
    ExitCode::from(2)
}

/// The result of a command: nothing on success; one line (plus the backtrace if asked for) on failure.
pub fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the context chain on one line, joined by ": "
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            if backtrace_wanted() {
                eprintln!("{}", e.backtrace());
            }
            ExitCode::FAILURE
        }
    }
}
