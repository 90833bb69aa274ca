//! The files named on the command line: TLS certificates and keys, and the
//! pre-shared key, checked (and the key read) before any connection.

use std::fs::File;
use std::io;
use std::path::PathBuf;

use super::checks::invalid;
use super::given::Given;
use super::CliError;
use crate::secure::psk::Psk;

/// The path must name an existing regular file that this process can open.
pub fn check_readable_file(given: &Given) -> Result<PathBuf, CliError> {
    if given.value.is_empty() {
        return Err(invalid(given, "the path must not be empty"));
    }
    let path = PathBuf::from(&given.value);
    let metadata = std::fs::metadata(&path).map_err(|e| invalid(given, describe_io_error(&e)))?;
    if !metadata.is_file() {
        return Err(invalid(given, "not a regular file"));
    }
    File::open(&path).map_err(|e| invalid(given, describe_io_error(&e)))?;
    Ok(path)
}

/// A readable regular file that no one but its owner may read or write,
/// as ssh requires of private keys: a key others can read is no secret.
pub fn check_private_file(given: &Given) -> Result<PathBuf, CliError> {
    use std::os::unix::fs::PermissionsExt;
    let path = check_readable_file(given)?;
    let mode = std::fs::metadata(&path)
        .map_err(|e| invalid(given, describe_io_error(&e)))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(invalid(
            given,
            format!(
                "permissions {:04o} are too open: a key file must not be accessible by \
                 group or others (chmod 600 {})",
                mode & 0o7777,
                given.value
            ),
        ));
    }
    Ok(path)
}

/// An I/O error in a few words.
fn describe_io_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

/// The pre-shared key of `--psk-file`: a secret file, read now.
pub fn load_psk(given: &Given) -> Result<Psk, CliError> {
    let path = check_private_file(given)?;
    Psk::load(&path).map_err(|why| invalid(given, why))
}
