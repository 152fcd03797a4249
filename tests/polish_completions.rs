//! `plumbery completions SHELL` and `plumbery man` through the built binary: the scripts name the
//! actions and options, the man page is roff with NAME and SYNOPSIS and documents every option.

use assert_cmd::Command;
use clap::CommandFactory;
use plumbery::Cli;

fn plumbery(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("plumbery")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Every long option of the plan grammar, read from the clap definition itself.
fn long_options() -> Vec<String> {
    Cli::command()
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect()
}

#[test]
fn bash_completion_names_actions_and_options() {
    let (code, out, err) = plumbery(&["completions", "bash"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("complete -F"), "not a bash completion script");
    for (action, _) in plumbery::Action::ALL {
        assert!(out.contains(action), "action {action} missing");
    }
    let options = long_options();
    assert!(options.len() >= 7, "{options:?}");
    for option in &options {
        assert!(out.contains(option.as_str()), "option {option} missing");
    }
    // The special commands and the emulator's own options.
    for word in ["emulator", "completions", "man", "--state-dir", "--faults"] {
        assert!(out.contains(word), "{word} missing");
    }
    // The local nodes' hidden PID 1 entry point is not offered.
    assert!(!out.contains("__node-init"), "hidden subcommand offered");
}

#[test]
fn zsh_and_fish_completions() {
    let (code, zsh, _) = plumbery(&["completions", "zsh"]);
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef plumbery"), "{}", &zsh[..80]);
    assert!(zsh.contains("--parameters") && zsh.contains("deploy"));
    let (code, fish, _) = plumbery(&["completions", "fish"]);
    assert_eq!(code, 0);
    assert!(fish.contains("complete -c plumbery"));
    assert!(fish.contains("-l safe") && fish.contains("dispose"));
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let (code, out, err) = plumbery(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
    let (code, _, err) = plumbery(&["completions"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn man_page_is_roff_with_every_option() {
    let (code, page, err) = plumbery(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        page.starts_with(".ie") || page.starts_with(".TH"),
        "{}",
        &page[..60]
    );
    assert!(page.contains(".TH plumbery 1"), "no title header");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(page.contains(section), "{section} missing");
    }
    // roff escapes dashes: `--json` is written `\-\-json`.
    for option in long_options() {
        let escaped = option.replace('-', "\\-");
        assert!(page.contains(&escaped), "option {option} missing");
    }
    for short in ["\\-p", "\\-s", "\\-d", "\\-q", "\\-v"] {
        assert!(page.contains(short), "{short} missing");
    }
    assert!(page.contains("deploy") && page.contains("validate"));
    // Every line is plain text or a roff request/escape; no stray control characters.
    assert!(
        page.chars()
            .all(|c| c == '\n' || c == '\t' || !c.is_control()),
        "control characters in the page"
    );
    // groff, when present, renders it without warnings.
    if let Ok(mut child) = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(warnings.trim().is_empty(), "groff: {warnings}");
    }
}
