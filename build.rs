// Migrations are embedded into the binary by diesel's macro, which cargo cannot see:
// rebuild when any migration file changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
