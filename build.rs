//! Gives each build of the sources an id (`PACKETWALK_BUILD_ID`, a hash of
//! `src/`, `Cargo.toml` and `Cargo.lock`): the page asks for its cluster generator module with it, so a
//! browser never pairs a cached module of an older build with a newer page
//! (Trunk names that module without a content hash).

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::path::Path;

fn hash_dir(dir: &Path, h: &mut DefaultHasher) {
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(_) => return,
    };
    entries.sort();
    for p in entries {
        if p.is_dir() {
            hash_dir(&p, h);
        } else if let Ok(bytes) = std::fs::read(&p) {
            h.write(p.to_string_lossy().as_bytes());
            h.write(&bytes);
        }
    }
}

fn main() {
    let mut h = DefaultHasher::new();
    for input in ["src", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={input}");
        let p = Path::new(input);
        if p.is_dir() {
            hash_dir(p, &mut h);
        } else if let Ok(bytes) = std::fs::read(p) {
            h.write(&bytes);
        }
    }
    println!("cargo:rustc-env=PACKETWALK_BUILD_ID={:016x}", h.finish());
}
