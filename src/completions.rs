//! `plumbery completions bash|zsh|fish|elvish|powershell` and `plumbery man`: shell completion
//! scripts and a roff man page, both generated from the clap definitions of the command line.
//!
//! Both come from the one clap definition of the command line ([`Cli`]); for generation only, the
//! ACTION argument gets the action names as possible values, so that shells complete them.

use std::io::Write;

use clap::builder::PossibleValuesParser;
use clap::{Command, CommandFactory};
use clap_complete::Shell;

use super::args::{ABOUT, AFTER_HELP, Action, Args, Cli};
use super::{EXIT_FAILED, EXIT_OK};

/// The whole command line as one clap [`Command`], with the action names as possible values of
/// ACTION so that shells complete them (the parser itself takes any case and says what is known).
pub fn full_command() -> Command {
    let actions: Vec<&'static str> = Action::ALL.iter().map(|(n, _)| *n).collect();
    // The hidden `__node-init` stays out of the scripts and the page: rebuild the command from the
    // plan grammar and the visible subcommands.
    let full = Cli::command();
    let visible: Vec<Command> = full
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .cloned()
        .collect();
    // the options Cli holds itself (global ones such as --color), as clap defines them
    let own: Vec<clap::Arg> = full
        .get_arguments()
        .filter(|a| a.get_id() == "color")
        .cloned()
        .collect();
    let base = <Args as clap::Args>::augment_args(Command::new("plumbery"))
        .args(own)
        .about(ABOUT)
        .long_about(None)
        .after_help(AFTER_HELP)
        .version(env!("CARGO_PKG_VERSION"))
        .disable_version_flag(true)
        .subcommand_negates_reqs(true)
        .args_conflicts_with_subcommands(true)
        .subcommands(visible);
    // `mut_arg` moves the argument to the end: pin the positions of the positionals.
    base.mut_arg("fittings", |a| a.index(1))
        .mut_arg("action", |a| {
            a.index(2).value_parser(PossibleValuesParser::new(actions))
        })
        .mut_arg("targets", |a| a.index(3))
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

/// Runs `plumbery completions SHELL`: the script on standard output; returns the exit code.
pub fn print_completions(shell: Shell) -> i32 {
    print_with("completions", |out| {
        write_completions(shell, out);
        Ok(())
    })
}

/// Runs `plumbery man`: the man page on standard output; returns the exit code.
pub fn print_man() -> i32 {
    print_with("man", |out| write_man(out))
}

fn print_with(name: &str, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> i32 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match write(&mut out).and_then(|()| out.flush()) {
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
