fn main() {
    std::process::exit(ipvsc::cli::main());
}
