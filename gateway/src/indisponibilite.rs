//! Telling an engine's outage from a fault of ours. A failure whose cause is a lost or refused
//! connection to PostgreSQL or Redis, a pool that found no connection in time, a server
//! shutting down or starting up, or a former primary that turned read-only after a failover
//! is the engine being away, not a bug: the client is told `INDISPONIBLE` (JSON-RPC) or 503
//! with `Retry-After` (REST) and retries with the same `id_commande`; anything else stays an
//! `ERREUR_INTERNE`. NATS never reaches an answer: what is published to it is best effort or
//! done by the relay, after the answer (doc/bus.md).

use std::error::Error;
use std::io;

/// How long a client is asked to wait before it retries (`Retry-After`, `reessayer_dans_ms`):
/// a PostgreSQL restart or a promotion takes a second or two, a pool timeout five.
pub const REESSAYER_DANS: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether `cause`, or any error in its chain of sources, is an engine's outage.
pub fn moteur_indisponible(cause: &(dyn Error + 'static)) -> bool {
    let mut courante = Some(cause);
    while let Some(e) = courante {
        if let Some(e) = e.downcast_ref::<sqlx::Error>() {
            return sqlx_indisponible(e);
        }
        if let Some(e) = e.downcast_ref::<redis::RedisError>() {
            return redis_indisponible(e);
        }
        // Every I/O error on the way to an engine is the link failing (refused, reset, cut,
        // timed out): nothing in a request can cause one.
        if e.is::<io::Error>() {
            return true;
        }
        courante = e.source();
    }
    false
}

fn sqlx_indisponible(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| etat_sql_indisponible(&c)),
        _ => false,
    }
}

/// The SQLSTATEs that say the server is away or cannot take writes now, whatever the
/// statement: class 08 (connection exception), 57P01 (admin shutdown: a fast stop cut the
/// session), 57P02 (crash shutdown), 57P03 (cannot connect now: starting up, shutting down,
/// in recovery), 25006 (read-only transaction: a standby, or a primary demoted after a
/// failover, reached before the pool followed the new primary), 53300 (too many
/// connections).
pub fn etat_sql_indisponible(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "25006" | "53300")
}

fn redis_indisponible(e: &redis::RedisError) -> bool {
    use redis::ErrorKind as K;
    e.is_io_error()
        || e.is_timeout()
        || matches!(
            e.kind(),
            K::BusyLoadingError | K::TryAgain | K::ClusterDown | K::MasterDown | K::ReadOnly
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn une_connexion_refusee_coupee_ou_un_pool_sans_connexion_sont_une_indisponibilite() {
        for e in [
            sqlx::Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused)),
            sqlx::Error::Io(io::Error::from(io::ErrorKind::UnexpectedEof)),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
        ] {
            assert!(moteur_indisponible(&e), "{e}");
        }
        let redis = redis::RedisError::from(io::Error::from(io::ErrorKind::ConnectionReset));
        assert!(moteur_indisponible(&redis));
        let redis = redis::RedisError::from((redis::ErrorKind::ReadOnly, "replica"));
        assert!(moteur_indisponible(&redis));
    }

    #[test]
    fn une_donnee_illisible_ou_une_ligne_absente_restent_des_erreurs_internes() {
        for e in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("or".into()),
            sqlx::Error::Protocol("message inattendu".into()),
        ] {
            assert!(!moteur_indisponible(&e), "{e}");
        }
        let redis = redis::RedisError::from((redis::ErrorKind::TypeError, "pas un entier"));
        assert!(!moteur_indisponible(&redis));
        let json = serde_json::from_str::<u8>("x").expect_err("illisible");
        assert!(!moteur_indisponible(&json));
    }

    #[test]
    fn la_cause_est_cherchee_dans_toute_la_chaine() {
        let e = projections::ErreurProjection::Base(sqlx::Error::PoolTimedOut);
        assert!(moteur_indisponible(&e));
        let e = projections::ErreurProjection::Base(sqlx::Error::RowNotFound);
        assert!(!moteur_indisponible(&e));
    }

    #[test]
    fn les_etats_sql_d_un_serveur_absent_ou_en_lecture_seule() {
        for code in [
            "08006", "08001", "08003", "57P01", "57P02", "57P03", "25006", "53300",
        ] {
            assert!(etat_sql_indisponible(code), "{code}");
        }
        // Unique violation, serialization failure, syntax error, statement timeout: ours or
        // the caller's, not the engine's absence.
        for code in ["23505", "40001", "42601", "57014", "XX000"] {
            assert!(!etat_sql_indisponible(code), "{code}");
        }
    }
}
