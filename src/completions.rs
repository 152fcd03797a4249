//! `plumbery completions bash|zsh|fish|elvish|powershell` and `plumbery man`: shell completion
//! scripts and a roff man page, both generated from the clap definitions of the command line.
//!
//! The main grammar (`plumbery FITTINGS ACTION ...`) is extended for generation only: the ACTION
//! argument gets the action names as possible values (so shells complete them), and the special
//! commands dispatched before clap (`emulator`, `completions`, `man`) appear as subcommands.

use std::io::Write;

use clap::builder::PossibleValuesParser;
use clap::{Arg, Command, CommandFactory, value_parser};
use clap_complete::Shell;

use super::args::{Action, Args};
use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// The whole command line as one clap [`Command`]: the plan grammar with its actions as possible
/// values, plus the `emulator`, `completions` and `man` subcommands.
pub fn full_command() -> Command {
    let actions: Vec<&'static str> = Action::ALL.iter().map(|(n, _)| *n).collect();
    // `mut_arg` moves the argument to the end: pin the positions of the positionals.
    Args::command()
        .mut_arg("fittings", |a| a.index(1))
        .mut_arg("action", |a| {
            a.index(2).value_parser(PossibleValuesParser::new(actions))
        })
        .mut_arg("targets", |a| a.index(3))
        .subcommand_negates_reqs(true)
        .args_conflicts_with_subcommands(true)
        .subcommand(
            crate::emulator_cli::command()
                .name("emulator")
                .about("Run the built-in CloudControl API emulator"),
        )
        .subcommand(completions_command())
        .subcommand(man_command())
}

fn completions_command() -> Command {
    Command::new("completions")
        .about("Print a shell completion script on standard output")
        .after_help(
            "Install, for example:\n  plumbery completions bash > /etc/bash_completion.d/plumbery\n  \
             plumbery completions zsh > \"${fpath[1]}/_plumbery\"\n  \
             plumbery completions fish > ~/.config/fish/completions/plumbery.fish",
        )
        .arg(
            Arg::new("shell")
                .value_name("SHELL")
                .required(true)
                .value_parser(value_parser!(Shell))
                .help("The shell to complete for"),
        )
}

fn man_command() -> Command {
    Command::new("man")
        .about("Print the man page (roff) on standard output")
        .after_help("Read it with: plumbery man | man -l -")
}

/// Writes the completion script of `shell` for the whole command line.
pub fn write_completions(shell: Shell, out: &mut dyn Write) {
    let mut cmd = full_command();
    clap_complete::generate(shell, &mut cmd, "plumbery", out);
    if shell == Shell::Fish {
        // clap's fish generator skips positional values: offer the actions (files stay offered).
        let actions: Vec<&str> = Action::ALL.iter().map(|(n, _)| *n).collect();
        let _ = writeln!(
            out,
            "complete -c plumbery -n \"__fish_plumbery_needs_command\" -a \"{}\" -d 'action'",
            actions.join(" ")
        );
    }
}

/// Writes the man page `plumbery(1)` in roff.
pub fn write_man(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(full_command()).render(out)
}

/// Runs `plumbery completions SHELL` or `plumbery man`; `argv` starts with the subcommand name.
pub fn main(argv: &[String]) -> i32 {
    let (cmd, name) = match argv.first().map(String::as_str) {
        Some("man") => (man_command(), "man"),
        _ => (completions_command(), "completions"),
    };
    let matches = match cmd
        .bin_name(format!("plumbery {name}"))
        .try_get_matches_from(argv)
    {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = if name == "man" {
        write_man(&mut out)
    } else {
        let shell = *matches
            .get_one::<Shell>("shell")
            .expect("SHELL is a required argument");
        write_completions(shell, &mut out);
        Ok(())
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => EXIT_OK,
        // A closed pipe (`plumbery man | head`) is not a failure worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("plumbery: cannot write the {name} output: {e}");
            EXIT_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_command_is_consistent() {
        full_command().debug_assert();
    }

    #[test]
    fn bash_completes_actions_and_emulator_options() {
        let mut buf = Vec::new();
        write_completions(Shell::Bash, &mut buf);
        let text = String::from_utf8(buf).unwrap();
        for word in [
            "deploy",
            "dispose",
            "polish",
            "--parameters",
            "--time-scale",
        ] {
            assert!(text.contains(word), "{word} missing");
        }
    }
}
