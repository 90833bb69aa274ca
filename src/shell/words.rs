//! Values in words for log lines: never Rust's debug formatting, which the
//! router build compiles to nothing (`-Zfmt-debug=none`, see cross/build.sh).

use std::fmt;
use std::time::Duration;

/// A duration as a person writes it: `500 ms`, `3 s`, `1.5 s`, `2 min`.
pub struct Span(pub Duration);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms < 1000 {
            write!(f, "{ms} ms")
        } else if ms % 60_000 == 0 {
            write!(f, "{} min", ms / 60_000)
        } else if ms % 1000 == 0 {
            write!(f, "{} s", ms / 1000)
        } else {
            write!(f, "{}.{} s", ms / 1000, (ms % 1000) / 100)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_writes_them() {
        let cases = [
            (250, "250 ms"),
            (1000, "1 s"),
            (1500, "1.5 s"),
            (10_000, "10 s"),
            (120_000, "2 min"),
        ];
        for (ms, text) in cases {
            assert_eq!(Span(Duration::from_millis(ms)).to_string(), text);
        }
    }
}
