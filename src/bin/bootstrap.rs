//! The Lambda entry point: what `protolake lambda` runs, under the name provided.al2023 expects.
fn main() -> std::process::ExitCode {
    protolake::cli::lambda_main()
}
