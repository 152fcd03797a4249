//! `plumbery emulator serve|start|stop|status`: the emulator's own command line.

/// Runs `plumbery emulator ARGS...` and returns the exit code.
pub fn main(_args: &[String]) -> i32 {
    eprintln!("plumbery emulator: not built yet");
    1
}
