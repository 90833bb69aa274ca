//! The SubjectPublicKeyInfo of a DER X.509 certificate, found by walking
//! its outer structure only: enough to check that a private key matches its
//! certificate, for any version of X.509. rustls checks the match with a
//! certificate *verifier*, which accepts only v3 certificates; but a client
//! only presents its certificate (the broker judges it), and the v1
//! certificates that mosquitto's documentation makes are valid there.

/// One DER TLV at the start of `bytes`: (tag, whole TLV, rest).
fn tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *bytes.first()?;
    let first = *bytes.get(1)?;
    let (len, head) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in bytes.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let end = head.checked_add(len)?;
    let whole = bytes.get(..end)?;
    Some((tag, whole, &bytes[end..]))
}

/// The contents of a TLV (after its tag and length).
fn contents(whole: &[u8]) -> &[u8] {
    let head = if whole.get(1).is_some_and(|b| b & 0x80 != 0) {
        2 + usize::from(whole[1] & 0x7f)
    } else {
        2
    };
    whole.get(head..).unwrap_or(&[])
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
/// `[0] EXPLICIT Version` (absent in v1).
const VERSION: u8 = 0xa0;

/// The DER SubjectPublicKeyInfo (with its SEQUENCE header) of `cert`.
pub fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    let (tag, certificate, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = tlv(contents(certificate))?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = contents(tbs);
    let (tag, _, after) = tlv(rest)?;
    if tag == VERSION {
        rest = after;
    }
    // serialNumber, signature, issuer, validity, subject.
    let expected = [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE];
    for want in expected {
        let (tag, _, after) = tlv(rest)?;
        if tag != want {
            return None;
        }
        rest = after;
    }
    let (tag, spki, _) = tlv(rest)?;
    (tag == SEQUENCE).then_some(spki)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncations_give_none_without_panicking() {
        assert_eq!(subject_public_key_info(&[]), None);
        assert_eq!(subject_public_key_info(&[0x30]), None);
        assert_eq!(
            subject_public_key_info(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            None
        );
        assert_eq!(
            subject_public_key_info(&[0x30, 0x03, 0x30, 0x01, 0x00]),
            None
        );
        let mut state = 7u64;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (state >> 56) as u8
                })
                .collect();
            let _ = subject_public_key_info(&bytes);
        }
    }
}
