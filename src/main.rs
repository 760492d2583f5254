/// mimalloc: faster than the system allocator for the many small, short-lived
/// allocations of classifying buyer turns and checking drafts.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    agentiq::cli::main()
}
