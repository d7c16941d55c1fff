//! Who may write, and from where. Every write (`POST`) carries the
//! operator's bearer token (`Authorization: Bearer TOKEN`), compared in
//! constant time; the token comes from `--auth-token-file`, or is generated
//! once into the data directory (`DATA_DIR/auth-token`, mode 0600). On a
//! loopback listener every request must name a loopback host (`Host:
//! 127.0.0.1:PORT`, `localhost`, `[::1]`), so a web page the operator's
//! browser opens cannot reach the API through DNS rebinding; and the
//! service refuses a non-loopback address unless told `--insecure-listen`
//! (it serves no TLS: put a TLS proxy in front).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use axum::http::{header, HeaderMap};

/// Why the credentials could not be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token file could not be read or written.
    #[error("auth token {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The token file holds too short a token.
    #[error("auth token {path}: at least {min} characters needed, found {found}")]
    TooShort {
        /// The file.
        path: String,
        /// The least length.
        min: usize,
        /// What the file holds.
        found: usize,
    },
}

/// The shortest accepted token.
pub const MIN_TOKEN_LEN: usize = 16;

/// The bearer token writes must carry.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// A token from text (trimmed); refused below [`MIN_TOKEN_LEN`].
    pub fn new(text: &str, path: &Path) -> Result<Self, AuthError> {
        let t = text.trim();
        if t.len() < MIN_TOKEN_LEN {
            return Err(AuthError::TooShort {
                path: path.display().to_string(),
                min: MIN_TOKEN_LEN,
                found: t.len(),
            });
        }
        Ok(Self(t.to_string()))
    }

    /// Reads the token from `explicit`, else from `generated` (created with
    /// a fresh random token, mode 0600, when missing). Returns the token
    /// and the file it came from.
    pub fn load(explicit: Option<&Path>, generated: &Path) -> Result<(Self, PathBuf), AuthError> {
        let path = explicit.unwrap_or(generated).to_path_buf();
        let io = |source| AuthError::Io {
            path: path.display().to_string(),
            source,
        };
        if explicit.is_none() && !path.exists() {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&path).map_err(io)?;
            f.write_all(hex::encode(bytes).as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        Ok((Self::new(&text, &path)?, path))
    }

    /// Whether `headers` carry this token as `Authorization: Bearer …`.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        constant_time_eq(given.trim().as_bytes(), self.0.as_bytes())
    }
}

/// Equality whose time depends on the lengths only, not on where the
/// inputs first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the `Host` header names a loopback host (any port).
pub fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_the_exact_bearer_token_is_admitted() {
        let t = Token::new("0123456789abcdef0123", Path::new("t")).unwrap();
        assert!(t.admits(&with(header::AUTHORIZATION, "Bearer 0123456789abcdef0123")));
        for bad in [
            "Bearer 0123456789abcdef0124",
            "Bearer 0123456789abcdef012",
            "Bearer 0123456789abcdef01234",
            "Basic 0123456789abcdef0123",
            "0123456789abcdef0123",
            "Bearer ",
        ] {
            assert!(!t.admits(&with(header::AUTHORIZATION, bad)), "{bad}");
        }
        assert!(!t.admits(&HeaderMap::new()));
        assert!(Token::new("short", Path::new("t")).is_err());
    }

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in [
            "127.0.0.1:8545",
            "localhost",
            "LOCALHOST:1",
            "[::1]:80",
            "127.1.2.3",
        ] {
            assert!(loopback_host(&with(header::HOST, ok)), "{ok}");
        }
        for bad in [
            "evil.example:8545",
            "10.0.0.1",
            "[2001:db8::1]:80",
            "localhost.evil.example",
        ] {
            assert!(!loopback_host(&with(header::HOST, bad)), "{bad}");
        }
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn a_generated_token_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth-token");
        let (a, p) = Token::load(None, &path).unwrap();
        let (b, _) = Token::load(None, &path).unwrap();
        assert_eq!(p, path);
        assert!(constant_time_eq(a.0.as_bytes(), b.0.as_bytes()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Token::load(Some(&dir.path().join("missing")), &path).is_err());
    }
}
