//! The `plumbery` binary: hands the command line to `plumbery::cli` and exits with its code.

fn main() {
    std::process::exit(plumbery::main());
}
