//! Connecting: the pool, the schema, the embedded migrations, and the
//! backoff while the database is unreachable.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};

use crate::error::{sqlx_retryable, QueueError};
use crate::JobQueue;

/// The migrations in `queue/migrations/`, embedded: `(version, description,
/// SQL)`. A test checks this list against the folder.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "jobs", include_str!("../migrations/0001_jobs.sql"))];

/// How [`JobQueue::connect`] connects.
#[derive(Clone, Debug)]
pub struct QueueOptions {
    /// PostgreSQL schema holding the queue's tables (created if missing);
    /// `None`: the connection's default `search_path`. Lowercase letters,
    /// digits and `_`, starting with a letter or `_`, at most 63 bytes.
    pub schema: Option<String>,
    /// Pool size.
    pub max_connections: u32,
    /// How long a call waits for a pooled connection before failing with a
    /// retryable error.
    pub acquire_timeout: Duration,
    /// How long `connect` keeps retrying an unreachable database.
    pub connect_budget: Duration,
    /// First backoff delay; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest backoff delay.
    pub max_backoff: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            schema: None,
            max_connections: 4,
            acquire_timeout: Duration::from_secs(10),
            connect_budget: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl QueueOptions {
    /// The same options with the queue in `schema`.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

/// The URL with any password replaced by `***` (for errors and logs).
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let Some(at) = rest.rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end + 3],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

/// Whether `name` is a plain lowercase SQL identifier (safe to quote).
fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_lowercase())
        && chars.all(|c| c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 63
}

/// The embedded migrations, as sqlx's migrator wants them.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

impl JobQueue {
    /// Connects to `url`, retrying with exponential backoff while the
    /// database is unreachable (up to `options.connect_budget`), creates
    /// the schema if one is named, and applies the pending migrations
    /// (under sqlx's advisory lock, so concurrent starts are safe).
    ///
    /// Every pooled connection is checked before use, so connections cut
    /// later (a database restart, `pg_terminate_backend`) are replaced by
    /// the next call; a call made while the database is down fails with a
    /// retryable error.
    pub async fn connect(url: &str, options: QueueOptions) -> Result<JobQueue, QueueError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| QueueError::Config(format!("bad URL {}: {e}", redact_url(url))))?;
        if let Some(schema) = &options.schema {
            if !valid_schema(schema) {
                return Err(QueueError::Config(format!(
                    "schema {schema:?}: use lowercase letters, digits and _"
                )));
            }
        }
        let search_path = options.schema.clone();
        let pool_options = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(true)
            .after_connect(move |conn, _meta| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(schema) = search_path {
                        conn.execute(format!("SET search_path TO \"{schema}\"").as_str())
                            .await?;
                    }
                    Ok(())
                })
            });
        let pool = open_with_backoff(url, &pool_options, &connect, &options).await?;
        if let Some(schema) = &options.schema {
            create_schema(&pool, schema).await?;
        }
        Migrator::new(Embedded).await?.run(&pool).await?;
        tracing::info!(
            url = %redact_url(url),
            schema = options.schema.as_deref().unwrap_or("(default)"),
            "job queue connected, migrations applied"
        );
        Ok(JobQueue { pool })
    }

    /// The connection pool (for health checks and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// Opens the pool once a probe connection succeeds, retrying transient
/// failures with backoff within the budget. (The pool's own connect would
/// retry silently until its acquire timeout; the probe makes each attempt
/// visible and the budget exact.)
async fn open_with_backoff(
    url: &str,
    pool_options: &PgPoolOptions,
    connect: &PgConnectOptions,
    options: &QueueOptions,
) -> Result<PgPool, QueueError> {
    let deadline = Instant::now() + options.connect_budget;
    let mut delay = options.initial_backoff;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let probe = match tokio::time::timeout(left, PgConnection::connect_with(connect)).await {
            Ok(probe) => probe,
            Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ))),
        };
        match probe {
            Ok(conn) => {
                let _ = conn.close().await;
                return Ok(pool_options.clone().connect_lazy_with(connect.clone()));
            }
            Err(e) if sqlx_retryable(&e) && Instant::now() + delay < deadline => {
                tracing::warn!(
                    url = %redact_url(url),
                    attempt = attempts,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %e,
                    "queue database unreachable, retrying"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(options.max_backoff);
            }
            Err(source) => {
                return Err(QueueError::Connect {
                    url: redact_url(url),
                    attempts,
                    source,
                })
            }
        }
    }
}

/// `CREATE SCHEMA IF NOT EXISTS`, tolerating a concurrent creator (which
/// can make the statement fail with a duplicate despite `IF NOT EXISTS`).
async fn create_schema(pool: &PgPool, schema: &str) -> Result<(), QueueError> {
    match pool
        .execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str())
        .await
    {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("42P06") | Some("23505")) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema("zkq_test_12"));
        assert!(!valid_schema("Bad"));
        assert!(!valid_schema("a\";drop"));
        assert!(!valid_schema("1abc"));
        assert!(!valid_schema(""));
    }

    /// The embedded list is exactly the files in `migrations/`: a new file
    /// that is not embedded (or an embedded text that differs) fails here.
    #[test]
    fn embedded_migrations_match_the_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .map(|e| {
                let path = e.expect("entry").path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).expect("readable"))
            })
            .collect();
        files.sort();
        let embedded: Vec<(String, String)> = MIGRATIONS
            .iter()
            .map(|(v, d, sql)| (format!("{v:04}_{d}.sql"), sql.to_string()))
            .collect();
        assert_eq!(files, embedded);
    }
}
