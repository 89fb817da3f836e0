#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    jumpguard::cli::main()
}
