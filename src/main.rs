fn main() -> std::process::ExitCode {
    protolake::cli::main()
}
