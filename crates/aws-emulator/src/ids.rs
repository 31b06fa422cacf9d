//! Resource identifiers in AWS's shapes: a prefix and 17 lowercase hex characters.

use rand::Rng;

pub(crate) fn hex17() -> String {
    let mut rng = rand::rng();
    (0..17).map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0')).collect()
}

pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", hex17())
}

/// 8 lowercase alphanumeric characters, as FSx mount names are.
pub(crate) fn mount_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

pub(crate) fn request_id() -> String {
    let h = |n: usize| -> String {
        let mut rng = rand::rng();
        (0..n).map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0')).collect()
    };
    format!("{}-{}-{}-{}-{}", h(8), h(4), h(4), h(4), h(12))
}

/// True when `id` is `prefix-` followed by 8 or 17 hex characters.
pub(crate) fn is_well_formed(id: &str, prefix: &str) -> bool {
    match id.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('-')) {
        Some(hex) => (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_hexdigit()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = new_id("fs");
        assert!(is_well_formed(&id, "fs"), "{id}");
        assert_eq!(id.len(), 20);
        let m = mount_name();
        assert_eq!(m.len(), 8);
        assert!(m.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }
}
