//! UIDs for the objects the station creates: under the configured root (`[station] uid_root`),
//! or, with none configured, "2.25." followed by a random (version 4) UUID read as one decimal
//! integer (PS3.5 §B.2), which is unique without registering anything.
//!
//! Must never: produce a UID longer than 64 characters or with a component that has a leading
//! zero (PS3.5 §9.1).

use rand::Rng;

/// Longest root we accept: leaves room for a 20-digit random component.
const MAX_ROOT_LEN: usize = 42;

/// Checks a configured root: digits and dots, no empty or zero-led component, short enough.
pub fn validate_root(root: &str) -> Result<(), String> {
    if root.is_empty() || root.len() > MAX_ROOT_LEN {
        return Err(format!(
            "a UID root is 1 to {MAX_ROOT_LEN} characters (UIDs are at most 64)"
        ));
    }
    for part in root.split('.') {
        let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits || (part.len() > 1 && part.starts_with('0')) {
            return Err(format!(
                "component {part:?}: each component is digits without a leading zero (PS3.5 §9.1)"
            ));
        }
    }
    Ok(())
}

/// Makes new UIDs.
#[derive(Debug, Clone)]
pub struct Uids {
    root: Option<String>,
}

impl Uids {
    /// `root` must have passed [`validate_root`] (the configuration checks it at load).
    pub fn new(root: Option<&str>) -> Uids {
        Uids {
            root: root.map(|r| r.trim_end_matches('.').to_string()),
        }
    }

    /// A new UID: `<root>.<random>` under the configured root, else a UUID-derived `2.25.` UID
    /// (PS3.5 §B.2); at most 64 characters either way.
    pub fn generate(&self) -> String {
        let mut rng = rand::rng();
        match &self.root {
            // A non-zero 64-bit random component: no leading zero, 20 digits at most.
            Some(root) => format!("{root}.{}", rng.random_range(1..=u64::MAX)),
            None => {
                let mut v: u128 = rng.random();
                // Version 4, variant 10 (RFC 4122 §4.4).
                v = (v & !(0xF << 76)) | (0x4 << 76);
                v = (v & !(0x3 << 62)) | (0x2 << 62);
                format!("2.25.{v}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_uid(uid: &str) -> bool {
        uid.len() <= 64 && validate_root(uid).is_ok() || uid.len() <= 64 && uid.starts_with("2.25.")
    }

    #[test]
    fn generated_uids_are_valid_and_distinct() {
        let rooted = Uids::new(Some("1.2.156.112605.1"));
        let uuid = Uids::new(None);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            for uid in [rooted.generate(), uuid.generate()] {
                assert!(uid.len() <= 64, "{uid}");
                assert!(
                    uid.split('.').all(|p| !p.is_empty()
                        && p.bytes().all(|b| b.is_ascii_digit())
                        && (p.len() == 1 || !p.starts_with('0'))),
                    "{uid}"
                );
                assert!(valid_uid(&uid));
                assert!(seen.insert(uid));
            }
        }
        assert!(rooted.generate().starts_with("1.2.156.112605.1."));
        assert!(uuid.generate().starts_with("2.25."));
    }

    #[test]
    fn bad_roots_are_refused() {
        for bad in ["", "1.2.", "1..2", "1.02", "1.2.a", &"1.2".repeat(30)] {
            assert!(validate_root(bad).is_err(), "{bad:?}");
        }
        assert!(validate_root("1.2.156.0.5").is_ok());
    }
}
