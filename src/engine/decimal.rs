//! Decimal text for the few fractional numbers the simulator shows
//! (`statistic` probabilities and draws, timings, sizes).
//!
//! `core`'s float parsing and printing are exact for every input but bring
//! about 20 KB of tables and code into the web page. The numbers here are
//! short decimals, for which integer arithmetic is exact: a decimal of at
//! most 15 significant digits is parsed to the nearest `f64` (one correctly
//! rounded division of two exactly representable numbers), and a value is
//! printed with a fixed number of decimals, rounded half away from zero.

/// Parses `digits[.digits]` (or `.digits`), as `strtod` would read a plain
/// decimal. `None` for anything else, and for more than 15 significant
/// digits or 22 decimals, where one division is no longer exact.
pub fn parse(s: &str) -> Option<f64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = int.bytes().chain(frac.bytes());
    let mut mantissa: u64 = 0;
    let mut significant = 0;
    for b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        // (Digits past u64 are past the 15 significant ones refused below.)
        mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        if mantissa > 0 {
            significant += 1;
        }
    }
    if significant > 15 || frac.len() > 22 {
        return None;
    }
    Some(mantissa as f64 / pow10(frac.len() as u32))
}

/// `v` with `decimals` (at most 15) digits after the point, like
/// `format!("{v:.decimals$}")` (and Go's `%.*f`, C's `printf`) for values
/// below 10^18 / 10^decimals: a tie rounds to the even digit.
pub fn fixed(v: f64, decimals: u32) -> String {
    let scaled = (v.abs() * pow10(decimals)).round_ties_even() as u64;
    let scale = 10u64.pow(decimals);
    let sign = if v < 0.0 && scaled != 0 { "-" } else { "" };
    let (int, frac) = (scaled / scale, scaled % scale);
    if decimals == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac:0width$}", width = decimals as usize)
    }
}

/// A count with its thousands grouped by commas (`111,016`), as the
/// page's English words write numbers.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A probability in [0, 1] as iptables-save prints it (11 decimals) with the
/// trailing zeros removed: `0.5`, `0.33333333349`, `1`.
pub fn short(v: f64) -> String {
    let s = fixed(v, 11);
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

fn pow10(n: u32) -> f64 {
    let mut p = 1.0;
    for _ in 0..n {
        p *= 10.0;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_the_standard_library() {
        for s in [
            "0.5",
            "0.33333333349",
            "0.50000000000",
            "0.20000000019",
            "1",
            "1.0",
            "0",
            ".25",
            "0.000000000001",
            "0.12345678901234",
        ] {
            assert_eq!(parse(s), Some(s.parse::<f64>().unwrap()), "{s}");
        }
        for s in [
            "",
            ".",
            "1e-3",
            "-0.5",
            "0.5x",
            "1..2",
            "0.1234567890123456",
            // Past u64 (a fuzzer's): refused, not overflowed.
            "99999999999999999999",
            "99999999999999999999.5",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn prints_like_the_standard_library() {
        for v in [
            0.0,
            0.2,
            0.33333333349,
            1.0,
            12.3456,
            199.0041,
            0.000013,
            42.0,
        ] {
            for d in [0, 1, 2, 4, 5, 11] {
                assert_eq!(fixed(v, d), format!("{v:.d$}", d = d as usize), "{v} {d}");
            }
        }
        assert_eq!(fixed(-1.25, 1), "-1.2");
        assert_eq!(fixed(0.5, 0), "0");
        // kube-proxy's 1/2048 and iptables' 1/4096, exact ties in binary.
        assert_eq!(fixed(1.0 / 2048.0, 10), format!("{:.10}", 1.0 / 2048.0));
        assert_eq!(fixed(1.0 / 4096.0, 11), "0.00024414062");
        assert_eq!(fixed(-0.001, 1), "0.0");
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(0.33333333349), "0.33333333349");
        assert_eq!(short(1.0), "1");
        assert_eq!(short(0.0), "0");
    }

    #[test]
    fn counts_group_their_thousands() {
        let got: Vec<String> = [0, 7, 999, 1000, 111_016, 1_234_567]
            .into_iter()
            .map(super::grouped)
            .collect();
        assert_eq!(got, ["0", "7", "999", "1,000", "111,016", "1,234,567"]);
    }
}
