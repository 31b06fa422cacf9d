//! IPv4 CIDR helpers for subnets, rules and the LNET check.

/// Parses `a.b.c.d/n` into (network, prefix length).
pub(crate) fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, len) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((u32::from(ip) & mask, len))
}

/// True when `outer` contains all of `inner`.
pub(crate) fn cidr_contains(outer: &str, inner: &str) -> bool {
    match (parse_cidr(outer), parse_cidr(inner)) {
        (Some((o, ol)), Some((i, il))) => {
            let mask = if ol == 0 { 0 } else { u32::MAX << (32 - ol) };
            ol <= il && (i & mask) == o
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert!(cidr_contains("10.0.0.0/16", "10.0.1.0/24"));
        assert!(cidr_contains("0.0.0.0/0", "10.0.1.0/24"));
        assert!(!cidr_contains("10.0.2.0/24", "10.0.1.0/24"));
        assert!(!cidr_contains("10.0.1.0/25", "10.0.1.0/24"));
    }
}
