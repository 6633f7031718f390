//! The errors a real PostgreSQL and a real Redis give when they are away, or when a session
//! lands on a server that cannot write, are told apart from faults of ours: `INDISPONIBLE`
//! (JSON-RPC) and 503 with `Retry-After` (REST); a real constraint violation stays an
//! `ERREUR_INTERNE`. The machine's PostgreSQL (`DATABASE_URL`, no database of its own: nothing
//! is written) and a port where nothing listens.

use std::time::Duration;

use axum::response::IntoResponse as _;
use commands::ErreurApplication;
use gateway::indisponibilite::moteur_indisponible;
use gateway::protocole::ErreurRpc;
use gateway::rest::erreur::ErreurApi;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgConnection};

fn url_serveur() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A loopback port nobody listens on (bound, then released).
fn port_muet() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port libre")
        .port()
}

/// What a JSON-RPC client is told of this failure of the write side (`data.code`).
fn code_rpc(e: sqlx::Error) -> String {
    ErreurRpc::from(ErreurApplication::from(e))
        .code_stable()
        .to_owned()
}

#[tokio::test]
async fn un_postgresql_qui_n_ecoute_pas_est_indisponible_en_json_rpc_et_en_rest() {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy(&format!(
            "postgres://postgres@127.0.0.1:{}/mmo",
            port_muet()
        ))
        .expect("URL");
    let e = sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .expect_err("personne n'écoute");
    assert!(moteur_indisponible(&e), "{e:?}");
    let encore = sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .expect_err("toujours personne");
    let rest = ErreurApi::from(encore).into_response();
    assert_eq!(rest.status(), 503);
    assert_eq!(rest.headers()["retry-after"], "1");
    assert_eq!(code_rpc(e), "INDISPONIBLE");
}

#[tokio::test]
async fn une_session_coupee_par_l_administrateur_est_indisponible() {
    let mut victime = PgConnection::connect(&url_serveur())
        .await
        .expect("PostgreSQL local");
    let mut admin = PgConnection::connect(&url_serveur())
        .await
        .expect("PostgreSQL local");
    let (pid,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
        .fetch_one(&mut victime)
        .await
        .expect("pid");
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin)
        .await
        .expect("terminate");
    // 57P01 (admin_shutdown) if the session reads the server's last words, else the closed
    // socket: both are the server away, never an internal error.
    let e = sqlx::query("SELECT 1")
        .execute(&mut victime)
        .await
        .expect_err("session coupée");
    assert!(moteur_indisponible(&e), "{e:?}");
    assert_eq!(code_rpc(e), "INDISPONIBLE");
}

#[tokio::test]
async fn une_ecriture_sur_un_serveur_en_lecture_seule_est_indisponible() {
    let mut c = PgConnection::connect(&url_serveur())
        .await
        .expect("PostgreSQL local");
    // What a standby, or a primary demoted by a failover, answers a write: 25006.
    sqlx::query("BEGIN READ ONLY")
        .execute(&mut c)
        .await
        .expect("begin");
    let e = sqlx::query("CREATE TEMP TABLE ecrite (x int)")
        .execute(&mut c)
        .await
        .expect_err("lecture seule");
    assert_eq!(
        e.as_database_error()
            .and_then(sqlx::error::DatabaseError::code)
            .as_deref(),
        Some("25006")
    );
    assert!(moteur_indisponible(&e), "{e:?}");
    assert_eq!(code_rpc(e), "INDISPONIBLE");
}

#[tokio::test]
async fn une_violation_d_unicite_reste_une_erreur_interne() {
    let mut c = PgConnection::connect(&url_serveur())
        .await
        .expect("PostgreSQL local");
    sqlx::query("CREATE TEMP TABLE unique_ (x int PRIMARY KEY)")
        .execute(&mut c)
        .await
        .expect("table temporaire");
    sqlx::query("INSERT INTO unique_ VALUES (1)")
        .execute(&mut c)
        .await
        .expect("première ligne");
    let e = sqlx::query("INSERT INTO unique_ VALUES (1)")
        .execute(&mut c)
        .await
        .expect_err("doublon");
    assert!(!moteur_indisponible(&e), "{e:?}");
    assert_eq!(code_rpc(e), "ERREUR_INTERNE");
}

#[tokio::test]
async fn un_redis_qui_n_ecoute_pas_est_indisponible() {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", port_muet())).expect("URL");
    let e = client
        .get_multiplexed_async_connection()
        .await
        .expect_err("personne n'écoute");
    assert!(moteur_indisponible(&e), "{e:?}");
    let rpc = ErreurRpc::from(ErreurApplication::from(e));
    assert_eq!(rpc.code_stable(), "INDISPONIBLE");
    assert!(rpc.data["reessayer_dans_ms"].as_u64().is_some());
}
