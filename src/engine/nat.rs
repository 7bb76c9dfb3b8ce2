//! How netfilter's NAT picks an address and a port from a range, as
//! `nf_nat_core.c` does on Linux 6.18 (measured against it in network
//! namespaces: the test vectors below are the kernel's own choices).
//!
//! - An address range is not walked from its start: the address is a hash
//!   (Bob Jenkins' lookup3, the kernel's `jhash2`) of the source address,
//!   seeded with the destination unless `--persistent`, scaled into the
//!   range. The same client gets the same address every time.
//! - A port is kept when it can be. Otherwise source NAT starts at a
//!   random offset into the range (by default the privileged ranges stay
//!   privileged: 1–511, 600–1023, else 1024–65535) and takes the first
//!   free one; DNAT starts at the range's first port, unless `--random`.

use crate::engine::rng::Rng;
use std::net::Ipv4Addr;

fn rol(x: u32, r: u32) -> u32 {
    x.rotate_left(r)
}

/// The kernel's `jhash2` (lookup3's `hashword`) over `k`.
pub fn jhash2(k: &[u32], initval: u32) -> u32 {
    let init = 0xdead_beef_u32
        .wrapping_add((k.len() as u32) << 2)
        .wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut k = k;
    while k.len() > 3 {
        a = a.wrapping_add(k[0]);
        b = b.wrapping_add(k[1]);
        c = c.wrapping_add(k[2]);
        // __jhash_mix
        a = a.wrapping_sub(c) ^ rol(c, 4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a) ^ rol(a, 6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b) ^ rol(b, 8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c) ^ rol(c, 16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a) ^ rol(a, 19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b) ^ rol(b, 4);
        b = b.wrapping_add(a);
        k = &k[3..];
    }
    match k.len() {
        0 => return c,
        3 => {
            c = c.wrapping_add(k[2]);
            b = b.wrapping_add(k[1]);
            a = a.wrapping_add(k[0]);
        }
        2 => {
            b = b.wrapping_add(k[1]);
            a = a.wrapping_add(k[0]);
        }
        _ => a = a.wrapping_add(k[0]),
    }
    // __jhash_final
    c ^= b;
    c = c.wrapping_sub(rol(b, 14));
    a ^= c;
    a = a.wrapping_sub(rol(c, 11));
    b ^= a;
    b = b.wrapping_sub(rol(a, 25));
    c ^= b;
    c = c.wrapping_sub(rol(b, 16));
    a ^= c;
    a = a.wrapping_sub(rol(c, 4));
    b ^= a;
    b = b.wrapping_sub(rol(a, 14));
    c ^= b;
    c.wrapping_sub(rol(b, 24))
}

/// An address as the kernel's hash reads it: its bytes as stored (network
/// order), taken as a little-endian word.
fn word(a: Ipv4Addr) -> u32 {
    u32::from_le_bytes(a.octets())
}

/// The address NAT maps `src → dst` to in `lo..=hi` (`find_best_ips_proto`).
/// For DNAT the tuple is the packet's as it arrived; for SNAT, its source
/// and the destination after any DNAT.
pub fn pick_addr(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    lo: Ipv4Addr,
    hi: Ipv4Addr,
    persistent: bool,
) -> Ipv4Addr {
    if lo >= hi {
        return lo;
    }
    let seed = if persistent { 0 } else { word(dst) };
    let j = jhash2(&[word(src), 0, 0, 0], seed);
    let (lo, hi) = (u32::from(lo), u32::from(hi));
    let dist = u64::from(hi - lo) + 1;
    Ipv4Addr::from(lo + ((u64::from(j) * dist) >> 32) as u32)
}

/// Which side of the tuple NAT rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manip {
    /// SNAT, MASQUERADE: the source port.
    Src,
    /// DNAT: the destination port.
    Dst,
}

/// The port NAT gives a connection whose port was `port`
/// (`nf_nat_l4proto_unique_tuple`): `ports` is `--to-ports` (or the
/// range's ports), `random` is `--random` or `--random-fully`, `used`
/// says whether a port would clash with another connection. When every
/// port it tries is used, the last one tried is returned (and the
/// connection then fails to insert).
pub fn pick_port(
    port: u16,
    ports: Option<(u16, u16)>,
    manip: Manip,
    random: bool,
    rng: &mut Rng,
    used: impl Fn(u16) -> bool,
) -> u16 {
    // Kept when it is in range and free (or the range is one port).
    if !random {
        match ports {
            Some((lo, hi)) if port >= lo && port <= hi && (lo == hi || !used(port)) => return port,
            None if manip == Manip::Dst || !used(port) => return port,
            _ => {}
        }
    }
    let (min, size) = match ports {
        Some((lo, hi)) => (u32::from(lo.min(hi)), u32::from(lo.abs_diff(hi)) + 1),
        // DNAT does not change a port it was not given.
        None if manip == Manip::Dst => return port,
        None if port < 512 => (1, 511),
        None if port < 1024 => (600, 424),
        None => (1024, 64512),
    };
    find_free(port, min, size, manip, random, rng, used)
}

/// The identifier NAT gives an ICMP echo whose identifier was `id`: the
/// echo's "port", searched over all 65,536 values (`nf_nat_l4proto_unique_tuple`
/// for ICMP). Kept when free and not `random`; else drawn from a random
/// offset, or for DNAT from 0 (measured on Linux 6.18: two senders' echo
/// id 5555 through one MASQUERADE, the second became 36790; with
/// `--random-fully` both were drawn; a DNAT clash gave 0).
pub fn pick_icmp_id(
    id: u16,
    manip: Manip,
    random: bool,
    rng: &mut Rng,
    used: impl Fn(u16) -> bool,
) -> u16 {
    if !random && !used(id) {
        return id;
    }
    find_free(id, 0, 65536, manip, random, rng, used)
}

/// The kernel's search for a free port (or echo id) in `min` and the
/// `size - 1` values after it: from a random offset, or from 0 for a
/// DNAT that is not `random`; 128 tries, then halving rounds from new
/// offsets down to 8; the last one tried when all are used.
fn find_free(
    port: u16,
    min: u32,
    size: u32,
    manip: Manip,
    random: bool,
    rng: &mut Rng,
    used: impl Fn(u16) -> bool,
) -> u16 {
    let draw = |rng: &mut Rng| (rng.next_u64() & 0xffff) as u32;
    let mut off = if random || manip == Manip::Src {
        draw(rng)
    } else {
        0
    };
    let mut attempts = size.min(128);
    let mut last = port;
    loop {
        for _ in 0..attempts {
            last = (min + off % size) as u16;
            if !used(last) {
                return last;
            }
            off = off.wrapping_add(1);
        }
        // A smaller window from a new offset, down to a round of 8 tries.
        if attempts >= size || attempts < 16 {
            return last;
        }
        attempts /= 2;
        off = draw(rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// The kernel's choices, measured on Linux 6.18 (iptables-nft 1.8.9)
    /// in network namespaces: (source, destination, range, persistent,
    /// the address it picked).
    #[test]
    fn addresses_are_the_kernels() {
        let sources = [
            "192.168.50.10",
            "192.168.50.11",
            "10.10.0.2",
            "172.16.5.4",
            "8.8.8.8",
            "203.0.113.200",
        ];
        type Row<'a> = (&'a str, (&'a str, &'a str), bool, [&'a str; 6]);
        let rows: &[Row] = &[
            (
                "192.168.50.1",
                ("10.10.0.2", "10.10.0.9"),
                false,
                [
                    "10.10.0.8",
                    "10.10.0.3",
                    "10.10.0.5",
                    "10.10.0.7",
                    "10.10.0.4",
                    "10.10.0.7",
                ],
            ),
            (
                "198.51.100.7",
                ("10.10.0.2", "10.10.0.9"),
                false,
                [
                    "10.10.0.4",
                    "10.10.0.7",
                    "10.10.0.6",
                    "10.10.0.3",
                    "10.10.0.5",
                    "10.10.0.8",
                ],
            ),
            (
                "192.168.50.1",
                ("10.10.0.2", "10.10.0.9"),
                true,
                [
                    "10.10.0.8",
                    "10.10.0.3",
                    "10.10.0.5",
                    "10.10.0.2",
                    "10.10.0.5",
                    "10.10.0.3",
                ],
            ),
            (
                "192.168.50.1",
                ("10.20.0.0", "10.20.255.254"),
                false,
                [
                    "10.20.204.156",
                    "10.20.63.162",
                    "10.20.112.255",
                    "10.20.190.254",
                    "10.20.65.247",
                    "10.20.161.208",
                ],
            ),
            (
                "192.168.60.10",
                ("192.168.60.100", "192.168.60.110"),
                false,
                [
                    "192.168.60.110",
                    "192.168.60.103",
                    "192.168.60.104",
                    "192.168.60.105",
                    "192.168.60.110",
                    "192.168.60.110",
                ],
            ),
            (
                "192.168.60.10",
                ("192.168.60.100", "192.168.60.110"),
                true,
                [
                    "192.168.60.109",
                    "192.168.60.101",
                    "192.168.60.105",
                    "192.168.60.101",
                    "192.168.60.104",
                    "192.168.60.101",
                ],
            ),
        ];
        for (dst, (lo, hi), persistent, want) in rows {
            for (src, want) in sources.iter().zip(want) {
                assert_eq!(
                    pick_addr(ip(src), ip(dst), ip(lo), ip(hi), *persistent).to_string(),
                    *want,
                    "{src} → {dst} in {lo}-{hi}, persistent {persistent}"
                );
            }
        }
        assert_eq!(
            pick_addr(
                ip("1.2.3.4"),
                ip("9.9.9.9"),
                ip("10.0.0.1"),
                ip("10.0.0.1"),
                false
            ),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ports_are_kept_when_free_and_else_taken_as_the_kernel_takes_them() {
        let mut rng = Rng(7);
        let free = |_: u16| false;
        let taken = |set: &'static [u16]| move |p: u16| set.contains(&p);
        // (port, --to-ports, manip, random, used, what it must be)
        type Case = (
            u16,
            Option<(u16, u16)>,
            Manip,
            bool,
            &'static [u16],
            fn(u16) -> bool,
        );
        let cases: &[Case] = &[
            // Kept: free, or in the range given, or DNAT without ports.
            (5000, None, Manip::Src, false, &[], |p| p == 5000),
            (2005, Some((2000, 2010)), Manip::Src, false, &[], |p| {
                p == 2005
            }),
            (8080, None, Manip::Dst, false, &[8080], |p| p == 8080),
            (2000, Some((2000, 2000)), Manip::Src, false, &[2000], |p| {
                p == 2000
            }),
            // Taken: a privileged port stays in its range.
            (5000, None, Manip::Src, false, &[5000], |p| {
                p >= 1024 && p != 5000
            }),
            (700, None, Manip::Src, false, &[700], |p| {
                (600..=1023).contains(&p) && p != 700
            }),
            (300, None, Manip::Src, false, &[300], |p| {
                (1..=511).contains(&p) && p != 300
            }),
            // Out of the range given: SNAT anywhere in it, DNAT its first
            // free port (85 taken: 80, not 86).
            (5000, Some((2000, 2010)), Manip::Src, false, &[], |p| {
                (2000..=2010).contains(&p)
            }),
            (8080, Some((80, 90)), Manip::Dst, false, &[], |p| p == 80),
            (85, Some((80, 90)), Manip::Dst, false, &[85], |p| p == 80),
            (85, Some((80, 90)), Manip::Dst, false, &[85, 80], |p| {
                p == 81
            }),
            // --random: in the range even when the port was free.
            (2005, Some((2000, 2010)), Manip::Src, true, &[], |p| {
                (2000..=2010).contains(&p)
            }),
            (42361, None, Manip::Src, true, &[], |p| p >= 1024),
            // All taken: the last one tried (the insert then fails).
            (
                5000,
                Some((2000, 2001)),
                Manip::Src,
                false,
                &[2000, 2001],
                |p| p == 2000 || p == 2001,
            ),
        ];
        for &(port, ports, manip, random, used, want) in cases {
            let got = pick_port(port, ports, manip, random, &mut rng, taken(used));
            assert!(
                want(got),
                "{port} {ports:?} {manip:?} random {random} used {used:?}: {got}"
            );
        }
        // --random spreads: not always the same port.
        let spread: std::collections::HashSet<u16> = (0..20)
            .map(|_| pick_port(2005, Some((2000, 2010)), Manip::Src, true, &mut rng, free))
            .collect();
        assert!(spread.len() > 3, "{spread:?}");
    }

    /// An echo's identifier (measured on Linux 6.18): kept when free;
    /// on a clash drawn for SNAT, the first free one from 0 for DNAT;
    /// drawn whenever `random`.
    #[test]
    fn echo_identifiers_are_picked_as_the_kernel_picks_them() {
        let mut rng = Rng(7);
        let clash = |p: u16| p == 5555 || p == 0;
        assert_eq!(
            pick_icmp_id(5555, Manip::Src, false, &mut rng, |_| false),
            5555
        );
        assert_eq!(
            pick_icmp_id(5555, Manip::Dst, false, &mut rng, |_| false),
            5555
        );
        // 0 is taken too: the search goes on to 1.
        assert_eq!(pick_icmp_id(5555, Manip::Dst, false, &mut rng, clash), 1);
        let drawn = pick_icmp_id(5555, Manip::Src, false, &mut rng, clash);
        assert!(!clash(drawn) && drawn > 1, "{drawn}");
        let ids: std::collections::BTreeSet<u16> = (0..8)
            .map(|_| pick_icmp_id(5555, Manip::Src, true, &mut rng, |_| false))
            .collect();
        assert!(ids.len() == 8 && !ids.contains(&5555), "{ids:?}");
    }
}
