//! `-l PATTERN`: which server-side ids to list, as a shell glob (`*` any
//! run of characters, `?` one character, anything else itself).

/// A glob over server-side ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<char>);

impl Pattern {
    /// The glob `text` (every text is one).
    pub fn new(text: &str) -> Pattern {
        Pattern(text.chars().collect())
    }

    /// Whether `id` matches as a whole. Linear backtracking to the last
    /// `*` only (the usual algorithm): at most pattern × id steps, and ids
    /// are at most 100 bytes.
    pub fn matches(&self, id: &str) -> bool {
        let glob = &self.0;
        let text: Vec<char> = id.chars().collect();
        let (mut g, mut t) = (0, 0);
        // Where the last `*` was, and the text position it now stands for.
        let mut star: Option<(usize, usize)> = None;
        while let Some(&c) = text.get(t) {
            match glob.get(g) {
                Some('*') => {
                    star = Some((g, t));
                    g += 1;
                }
                Some(&p) if p == '?' || p == c => {
                    g += 1;
                    t += 1;
                }
                _ => match star {
                    Some((at, from)) => {
                        // Let that `*` take one character more.
                        star = Some((at, from + 1));
                        g = at + 1;
                        t = from + 1;
                    }
                    None => return false,
                },
            }
        }
        glob.iter().skip(g).all(|&p| p == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(glob: &str, id: &str) -> bool {
        Pattern::new(glob).matches(id)
    }

    #[test]
    fn a_star_stands_for_any_run_and_a_question_mark_for_one_character() {
        assert!(matches("site-*", "site-1"));
        assert!(matches("site-*", "site-"));
        assert!(!matches("site-*", "office-site-1"));
        assert!(matches("*-pi", "office-pi"));
        assert!(matches("s?te-*-?", "site-north-7"));
        assert!(!matches("s?te", "ste"));
        assert!(matches("*", ""));
        assert!(matches("**a**", "bab"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(matches("東?", "東京"));
    }

    #[test]
    fn without_wildcards_a_pattern_is_the_id_itself() {
        assert!(matches("office-pi", "office-pi"));
        assert!(!matches("office-pi", "office-pi2"));
        assert!(!matches("office", "office-pi"));
        assert!(!matches("", "x"));
        assert!(matches("", ""));
    }

    #[test]
    fn a_pathological_pattern_is_answered_quickly() {
        let id = "a".repeat(100);
        let glob = format!("{}b", "*a".repeat(50));
        assert!(!matches(&glob, &id));
    }
}
