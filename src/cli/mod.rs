//! Command line: argument parsing (clap), output (human, `--json`), progress and exit codes.

/// Runs the command line and returns the process exit code (0 ok, 1 action failed, 2 usage or input error).
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__node-init") {
        return crate::emulator::nodes::init_main(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("emulator") {
        return crate::emulator::cli::main(&args[2..]);
    }
    eprintln!("plumbery: not built yet");
    1
}
