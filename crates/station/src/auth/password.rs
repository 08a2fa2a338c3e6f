//! Password hashing: argon2id with a random salt, stored as a PHC string (`$argon2id$...`).
//!
//! Must never: log, store or return a password in clear, or compare hashes by hand.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;

/// Shortest password a person may set.
pub const MIN_LENGTH: usize = 8;
/// Longest password accepted, in characters (at most 4 KB of UTF-8), so nobody makes the
/// station hash megabytes.
pub const MAX_LENGTH: usize = 1024;

/// Hashes `password` for storage.
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    // Encoding 16 random bytes as a salt and hashing with the default parameters cannot fail.
    let salt = SaltString::encode_b64(&salt).expect("a 16-byte salt is always valid");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// Whether `password` matches the stored hash; a malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as checking a real password, so a wrong username takes as long to
/// refuse as a wrong password (no guessing which usernames exist from response times).
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("not a real password"));
    let _ = verify(password, stored);
}

/// A random password for a first-run admin or a reset: 16 characters, no look-alikes.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_its_password() {
        let h = hash("密码-secret-1");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("密码-secret-1", &h));
        assert!(!verify("密码-secret-2", &h));
        assert!(!verify("密码-secret-1", "not a hash"));
        assert_ne!(h, hash("密码-secret-1"), "each hash has its own salt");
    }
}
