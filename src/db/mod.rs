//! Database access: one connection type over SQLite and PostgreSQL, picked by the URL scheme,
//! a pool, embedded migrations, and helpers that run diesel work on the blocking thread pool.

pub mod schema;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::ApiResult;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// What diesel's SQLite driver wants: a file path, not a `sqlite://` URL.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Per-connection SQLite settings: WAL lets readers work beside the single writer,
/// the busy timeout makes writers queue instead of failing, and foreign keys are off by default.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(conn) = conn {
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

pub type Conn = PooledConnection<ConnectionManager<DbConn>>;

#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<DbConn>>,
    backend: Backend,
}

impl Db {
    /// Opens a pool (creating the SQLite file's directory if needed). Fails fast when the
    /// database cannot be reached at all.
    pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Db> {
        let backend = Backend::of_url(url);
        let target = match backend {
            Backend::Postgres => url.to_owned(),
            Backend::Sqlite => {
                let path = sqlite_path(url);
                if let Some(dir) = std::path::Path::new(path).parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)?;
                }
                // WAL is a property of the file. Switching to it needs the database to itself,
                // so do it once here rather than race the pool's first connections for it.
                SqliteConnection::establish(path)?.batch_execute("PRAGMA journal_mode = WAL;")?;
                path.to_owned()
            }
        };
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(SqlitePragmas))
            .build(ConnectionManager::<DbConn>::new(target))?;
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn get(&self) -> ApiResult<Conn> {
        Ok(self.pool.get()?)
    }

    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    pub fn pool_max_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.pool.get()?;
        let applied = match &mut *conn {
            DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(applied.len())
    }

    /// Reachable and fully migrated: what /readyz reports.
    pub fn ready(&self) -> Result<(), String> {
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        let pending = match &mut *conn {
            DbConn::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
            DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        }
        .map_err(|e| e.to_string())?;
        if pending {
            Err("migrations pending".into())
        } else {
            Ok(())
        }
    }

    /// Runs diesel work on the blocking pool, outside a transaction (reads, or work that manages its own).
    pub async fn run<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }

    /// Runs diesel work in one write transaction on the blocking pool: all of it or nothing.
    pub async fn write<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            write_transaction(&mut conn, work)
        })
        .await?
    }
}

/// One write transaction. SQLite has a single writer: taking the write lock as the first
/// statement makes concurrent writers wait (busy timeout) instead of failing later on a stale
/// snapshot. PostgreSQL locks only the rows it touches.
pub fn write_transaction<T>(
    conn: &mut DbConn,
    work: impl FnOnce(&mut DbConn) -> ApiResult<T>,
) -> ApiResult<T> {
    conn.transaction(|conn| {
        if matches!(conn, DbConn::Sqlite(_)) {
            crate::audit::store::lock_head(conn)?;
        }
        work(conn)
    })
}

/// A multi-row INSERT, run on the connection underneath: diesel's `MultiConnection` writes one
/// row a statement, and a bulk load writes thousands. The rows' `Insertable` needs
/// `treat_none_as_default_value = false`: SQLite has no DEFAULT inside a multi-row VALUES.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConn::Postgres(conn) => {
                diesel::insert_into($table).values($rows).execute(conn)
            }
            $crate::db::DbConn::Sqlite(conn) => {
                diesel::insert_into($table).values($rows).execute(conn)
            }
        }
    };
}
pub(crate) use insert_rows;

/// Whether a diesel error is a unique-constraint violation (a lost race on an insert).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
