//! Schema migrations, one SQL file per version and backend, embedded in the
//! binary. Applied at start and by `trygg admin migrate`; each in its own
//! transaction; a changed or unknown migration stops the start.

use crate::{Backend, Result, StoreError};
use aws_lc_rs::digest;
use sqlx::{AnyPool, Row as _};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "authentication",
        sqlite: include_str!("../migrations/sqlite/0002_authentication.sql"),
        postgres: include_str!("../migrations/postgres/0002_authentication.sql"),
    },
    Migration {
        version: 3,
        name: "staff_totp",
        sqlite: include_str!("../migrations/sqlite/0003_staff_totp.sql"),
        postgres: include_str!("../migrations/postgres/0003_staff_totp.sql"),
    },
    Migration {
        version: 4,
        name: "care_record",
        sqlite: include_str!("../migrations/sqlite/0004_care_record.sql"),
        postgres: include_str!("../migrations/postgres/0004_care_record.sql"),
    },
    Migration {
        version: 5,
        name: "permissions",
        sqlite: include_str!("../migrations/sqlite/0005_permissions.sql"),
        postgres: include_str!("../migrations/postgres/0005_permissions.sql"),
    },
    Migration {
        version: 6,
        name: "audit",
        sqlite: include_str!("../migrations/sqlite/0006_audit.sql"),
        postgres: include_str!("../migrations/postgres/0006_audit.sql"),
    },
    Migration {
        version: 7,
        name: "log_review",
        sqlite: include_str!("../migrations/sqlite/0007_log_review.sql"),
        postgres: include_str!("../migrations/postgres/0007_log_review.sql"),
    },
    Migration {
        version: 8,
        name: "audit_disposal",
        sqlite: include_str!("../migrations/sqlite/0008_audit_disposal.sql"),
        postgres: include_str!("../migrations/postgres/0008_audit_disposal.sql"),
    },
    Migration {
        version: 9,
        name: "alarms",
        sqlite: include_str!("../migrations/sqlite/0009_alarms.sql"),
        postgres: include_str!("../migrations/postgres/0009_alarms.sql"),
    },
    Migration {
        version: 10,
        name: "alarm_workflow",
        sqlite: include_str!("../migrations/sqlite/0010_alarm_workflow.sql"),
        postgres: include_str!("../migrations/postgres/0010_alarm_workflow.sql"),
    },
    Migration {
        version: 11,
        name: "alarm_escalation",
        sqlite: include_str!("../migrations/sqlite/0011_alarm_escalation.sql"),
        postgres: include_str!("../migrations/postgres/0011_alarm_escalation.sql"),
    },
    Migration {
        version: 12,
        name: "audit_queue",
        sqlite: include_str!("../migrations/sqlite/0012_audit_queue.sql"),
        postgres: include_str!("../migrations/postgres/0012_audit_queue.sql"),
    },
    Migration {
        version: 13,
        name: "device_registry_version",
        sqlite: include_str!("../migrations/sqlite/0013_device_registry_version.sql"),
        postgres: include_str!("../migrations/postgres/0013_device_registry_version.sql"),
    },
    Migration {
        version: 14,
        name: "audit_actor_index",
        sqlite: include_str!("../migrations/sqlite/0014_audit_actor_index.sql"),
        postgres: include_str!("../migrations/postgres/0014_audit_actor_index.sql"),
    },
    Migration {
        version: 15,
        name: "devices_silent",
        sqlite: include_str!("../migrations/sqlite/0015_devices_silent.sql"),
        postgres: include_str!("../migrations/postgres/0015_devices_silent.sql"),
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

fn checksum(sql: &str) -> String {
    digest::digest(&digest::SHA256, sql.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const PG_MIGRATION_LOCK: i64 = 0x7472_7967_676d; // "tryggm"

/// Applies every pending migration. Returns the versions applied.
pub(crate) async fn run(pool: &AnyPool, backend: Backend, now_ms: i64) -> Result<Vec<i64>> {
    let mut conn = pool.acquire().await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let result = apply(&mut conn, backend, now_ms).await;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn apply(conn: &mut sqlx::AnyConnection, backend: Backend, now_ms: i64) -> Result<Vec<i64>> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS trygg_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let applied: Vec<(i64, String)> =
        sqlx::query("SELECT version, checksum FROM trygg_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    if let Some((v, _)) = applied.iter().find(|(v, _)| *v > latest_version()) {
        return Err(StoreError::Schema(format!(
            "the database has schema version {v}, newer than this Trygg knows ({}); \
             run a newer Trygg",
            latest_version()
        )));
    }
    let mut done = Vec::new();
    for m in MIGRATIONS {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let sum = checksum(sql);
        if let Some((_, stored)) = applied.iter().find(|(v, _)| *v == m.version) {
            if *stored != sum {
                return Err(StoreError::Schema(format!(
                    "migration {} ({}) differs from the one applied to this database",
                    m.version, m.name
                )));
            }
            continue;
        }
        let begin = match backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        sqlx::raw_sql(begin).execute(&mut *conn).await?;
        let step = async {
            sqlx::raw_sql(sql).execute(&mut *conn).await?;
            sqlx::query(
                "INSERT INTO trygg_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(sum)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        match step {
            Ok(()) => {
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
            }
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                return Err(StoreError::Schema(format!(
                    "migration {} ({}) failed: {e}",
                    m.version, m.name
                )));
            }
        }
        tracing::info!(version = m.version, name = m.name, "applied migration");
        done.push(m.version);
    }
    Ok(done)
}
