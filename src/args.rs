//! The command line grammar, all of it in clap: `plumbery [OPTIONS] FITTINGS ACTION
//! [BLUEPRINT|@LOCATION]...`, and the subcommands `emulator`, `completions`, `man` (and the hidden
//! `__node-init` that local nodes run as their PID 1).

use std::fmt;

use clap::{ArgAction, Parser, Subcommand};
use clap_complete::Shell;

/// What `plumbery --help` says first.
pub const ABOUT: &str =
    "Declarative cloud CLI: make the cloud match a fittings plan, then bootstrap the nodes.";

/// The end of `plumbery --help`: the actions and examples.
pub const AFTER_HELP: &str = "ACTIONS: deploy, dispose, build, configure, start, stop, prepare, polish (finalize, finalise), \
information, inventory, ansible, ping, secrets, destroy, wipe, refresh, validate\n\nExamples:\n  plumbery fittings/redis-cluster.yaml validate\n  \
plumbery fittings/redis-cluster.yaml deploy -p locationId=EU6\n  plumbery plan.yaml -s build web @EU6";

/// The whole command line: a subcommand, or the plan grammar ([`Args`]).
#[derive(Debug, Parser)]
#[command(
    name = "plumbery",
    about = ABOUT,
    version,
    disable_version_flag = true,
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// A subcommand instead of a plan.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The plan grammar.
    #[command(flatten)]
    pub plan: Args,
    /// Colour in messages: `auto` (only on a terminal, and never when NO_COLOR is set), `always`, `never`.
    #[arg(long = "color", value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// When messages are coloured (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always (even into a file or a pipe).
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (`is_terminal`) or is not a terminal, given `NO_COLOR`
    /// (set and not empty, per no-color.org).
    pub fn enabled(self, is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// The subcommands that do not act on a plan.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in CloudControl API emulator.
    Emulator {
        /// What to do with the emulator.
        #[command(subcommand)]
        cmd: crate::emulator_cli::Cmd,
    },
    /// Print a shell completion script on standard output.
    #[command(
        after_help = "Install, for example:\n  plumbery completions bash > /etc/bash_completion.d/plumbery\n  \
             plumbery completions zsh > \"${fpath[1]}/_plumbery\"\n  \
             plumbery completions fish > ~/.config/fish/completions/plumbery.fish"
    )]
    Completions {
        /// The shell to complete for.
        #[arg(value_name = "SHELL")]
        shell: Shell,
    },
    /// Print the man page (roff) on standard output.
    #[command(after_help = "Read it with: plumbery man | man -l -")]
    Man,
    /// The PID 1 of a local node (started by the local nodes backend, not by hand).
    #[command(name = "__node-init", hide = true)]
    NodeInit {
        /// The init's own arguments, passed on as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// The plan grammar: `FITTINGS ACTION [BLUEPRINT|@LOCATION]...` and its options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The fittings plan: a path, `-` for standard input, or an http(s) URL.
    #[arg(value_name = "FITTINGS", required = true)]
    pub fittings: Option<String>,
    /// What to do (see ACTIONS below).
    #[arg(value_name = "ACTION", required = true)]
    pub action: Option<String>,
    /// Limit the action to these blueprints, and to these locations (`@EU6`).
    #[arg(value_name = "BLUEPRINT|@LOCATION")]
    pub targets: Vec<String>,
    /// A parameter `KEY=VALUE`, or a YAML file of parameters; repeatable, the later wins.
    #[arg(short = 'p', long = "parameters", value_name = "KEY=VALUE|FILE.yaml")]
    pub parameters: Vec<String>,
    /// Safe mode: change nothing, show what would be done.
    #[arg(short = 's', long = "safe")]
    pub safe: bool,
    /// Show debug messages.
    #[arg(short = 'd', long = "debug", conflicts_with = "quiet")]
    pub debug: bool,
    /// Show only warnings and errors.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Print results as JSON on standard output.
    #[arg(long = "json")]
    pub json: bool,
    /// Use local nodes (the built-in CloudControl emulator) instead of the real cloud.
    #[arg(long = "local")]
    pub local: bool,
    /// With --local: latency multiplier of the local emulator when plumbery starts it (0.01 makes a
    /// 240 s server deploy take 2.4 s; 0 completes as soon as the node is up).
    #[arg(long = "time-scale", value_name = "X", requires = "local", default_value_t = crate::local::DEFAULT_TIME_SCALE)]
    pub time_scale: f64,
    /// How long a changing action waits for another run of the same plan on this machine to
    /// finish (seconds; 0: fail at once with exit 1).
    #[arg(long = "lock-timeout", value_name = "SECS", default_value_t = crate::lock::DEFAULT_LOCK_TIMEOUT_SECS)]
    pub lock_timeout: u64,
    /// Print the version and exit.
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    pub version: Option<bool>,
}

/// The actions of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// build, start, prepare, information.
    Deploy,
    /// stop, destroy.
    Dispose,
    /// Network and nodes, then the build polisher.
    Build,
    /// The original's build polisher: bring the existing nodes and network in line with the plan.
    Configure,
    /// Run every polisher the plan declares under `actions:` (`polish`, `finalise`).
    Finalize,
    /// Start nodes.
    Start,
    /// Stop nodes.
    Stop,
    /// Bootstrap nodes over SSH.
    Prepare,
    /// Print information about the plan and its nodes.
    Information,
    /// Print an inventory of the nodes.
    Inventory,
    /// Print an Ansible inventory.
    Ansible,
    /// Show the addresses of the nodes.
    Ping,
    /// List the plan's stored secrets.
    Secrets,
    /// Destroy nodes, then the network.
    Destroy,
    /// Destroy nodes only.
    Wipe,
    /// stop, wipe, build, start, prepare, information.
    Refresh,
    /// Load and check the plan; no cloud access.
    Validate,
}

impl Action {
    /// Every action with its command line name.
    pub const ALL: &'static [(&'static str, Action)] = &[
        ("deploy", Action::Deploy),
        ("dispose", Action::Dispose),
        ("build", Action::Build),
        ("configure", Action::Configure),
        ("start", Action::Start),
        ("stop", Action::Stop),
        ("prepare", Action::Prepare),
        ("polish", Action::Finalize),
        ("finalize", Action::Finalize),
        ("finalise", Action::Finalize),
        ("information", Action::Information),
        ("inventory", Action::Inventory),
        ("ansible", Action::Ansible),
        ("ping", Action::Ping),
        ("secrets", Action::Secrets),
        ("destroy", Action::Destroy),
        ("wipe", Action::Wipe),
        ("refresh", Action::Refresh),
        ("validate", Action::Validate),
    ];

    /// Parses an action name (case-insensitive).
    pub fn parse(name: &str) -> Option<Action> {
        let lower = name.to_ascii_lowercase();
        Action::ALL
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|(_, a)| *a)
    }

    /// The command line name.
    pub fn name(self) -> &'static str {
        Action::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Whether the action changes the cloud or the nodes (and so holds the plan lock while it runs).
    pub fn changes(self) -> bool {
        !matches!(
            self,
            Action::Validate
                | Action::Secrets
                | Action::Information
                | Action::Inventory
                | Action::Ansible
                | Action::Ping
        )
    }

    /// Whether the action talks to the cloud (or to nodes).
    pub fn needs_cloud(self) -> bool {
        !matches!(self, Action::Validate | Action::Secrets)
    }

    /// The action of a polisher name the original ships (`configure`, `prepare`, `information`,
    /// `inventory`, `ansible`, `ping`), as declared under `actions:` or `buildPolisher:`.
    pub fn polisher(name: &str) -> Option<Action> {
        Action::parse(name).filter(|a| {
            matches!(
                a,
                Action::Configure
                    | Action::Prepare
                    | Action::Information
                    | Action::Inventory
                    | Action::Ansible
                    | Action::Ping
            )
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the user asked for, once the arguments are checked: the engine's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The action.
    pub action: Action,
    /// Blueprints to act on (empty: all).
    pub blueprints: Vec<String>,
    /// Locations to act on, by `locationId` or `apiHost` (empty: all).
    pub locations: Vec<String>,
    /// Safe mode (`-s` or `safeMode: true` in the plan).
    pub safe: bool,
    /// `--local`: use local nodes.
    pub local: bool,
    /// `--json` output.
    pub json: bool,
    /// The plan's state key (`PlanText::key`): opens its secrets store and state directory.
    pub plan_key: String,
    /// `--lock-timeout`: how long a changing action waits for the plan lock.
    pub lock_timeout: std::time::Duration,
}

/// The original took `-p a=1 b=2` (argparse `nargs='*'`): every `KEY=VALUE` word right after the
/// value of a `-p` is one more parameter. Inserts the `-p` clap needs before each of them.
pub fn spread_parameters(argv: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut after_p = false;
    let mut expect_value = false;
    for a in argv {
        if expect_value {
            expect_value = false;
            after_p = true;
            out.push(a);
            continue;
        }
        if a == "-p" || a == "--parameters" {
            expect_value = true;
        } else if a.starts_with("--parameters=") || (a.starts_with("-p") && a.len() > 2) {
            after_p = true;
        } else if after_p && a.contains('=') && !a.starts_with('-') {
            out.push("-p".into());
        } else {
            after_p = false;
        }
        out.push(a);
    }
    out
}

/// Splits the targets into blueprint names and `@LOCATION` filters.
pub fn split_targets(targets: &[String]) -> Result<(Vec<String>, Vec<String>), String> {
    let mut blueprints = Vec::new();
    let mut locations = Vec::new();
    for t in targets {
        match t.strip_prefix('@') {
            Some("") => return Err("missing location after '@': write @EU6 for example".into()),
            Some(loc) => locations.push(loc.to_string()),
            None if t.contains('=') => {
                return Err(format!(
                    "'{t}' is not a blueprint name: to set a parameter, write -p {t}"
                ));
            }
            None => blueprints.push(t.clone()),
        }
    }
    Ok((blueprints, locations))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        use std::ffi::OsStr;
        assert!(ColorChoice::Auto.enabled(true, None));
        assert!(!ColorChoice::Auto.enabled(false, None));
        assert!(!ColorChoice::Auto.enabled(true, Some(OsStr::new("1"))));
        assert!(ColorChoice::Auto.enabled(true, Some(OsStr::new(""))));
        assert!(!ColorChoice::Never.enabled(true, None));
        assert!(ColorChoice::Always.enabled(false, None));
    }

    #[test]
    fn parameters_spread_as_the_original_took_them() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            spread_parameters(argv("plumbery plan deploy -p a=1 b=2 web")),
            argv("plumbery plan deploy -p a=1 -p b=2 web")
        );
        assert_eq!(
            spread_parameters(argv("plumbery plan deploy web a=1")),
            argv("plumbery plan deploy web a=1")
        );
        assert_eq!(
            spread_parameters(argv("plumbery -s plan deploy --parameters=x=1 y=2")),
            argv("plumbery -s plan deploy --parameters=x=1 -p y=2")
        );
    }

    #[test]
    fn actions_and_targets() {
        assert_eq!(Action::parse("Polish"), Some(Action::Finalize));
        assert_eq!(Action::parse("finalise"), Some(Action::Finalize));
        assert_eq!(Action::parse("CONFIGURE"), Some(Action::Configure));
        assert_eq!(Action::parse("graph"), None);
        let (b, l) = split_targets(&["web".into(), "@EU6".into()]).unwrap();
        assert_eq!((b, l), (vec!["web".to_string()], vec!["EU6".to_string()]));
        assert!(split_targets(&["@".into()]).is_err());
        assert_eq!(
            split_targets(&["a=1".into()]).unwrap_err(),
            "'a=1' is not a blueprint name: to set a parameter, write -p a=1"
        );
    }
}
