fn main() -> std::process::ExitCode {
    agentiq::cli::main()
}
