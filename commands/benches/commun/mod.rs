//! What the command benches share: a database of their own beside `DATABASE_URL`'s, migrated,
//! and dropped at the end.

use std::str::FromStr;

use magasin::MIGRATIONS;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgConnection, PgPool};

/// A setting from the environment variable `nom`, `defaut` when absent or unreadable.
pub(crate) fn reglage<T: FromStr>(nom: &str, defaut: T) -> T {
    std::env::var(nom)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(defaut)
}

/// A bench's own database: its pool, and the admin connection that drops it.
pub(crate) struct BaseDeBanc {
    admin: PgConnection,
    nom: String,
    /// A pool on it.
    pub(crate) pool: PgPool,
    /// Its URL.
    #[allow(
        dead_code,
        reason = "each bench compiles this module; only debit_commandes points pgbench at it"
    )]
    pub(crate) url: String,
}

impl BaseDeBanc {
    /// `nom`, created beside `url`'s database and migrated, with a pool of `connexions`.
    pub(crate) async fn creer(url: &str, nom: &str, connexions: u32) -> Self {
        let mut admin = PgConnection::connect(url)
            .await
            .expect("connexion à PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {nom}"))
            .execute(&mut admin)
            .await
            .expect("base de banc");
        let url_base = match url.rsplit_once('/') {
            Some((serveur, _)) => format!("{serveur}/{nom}"),
            None => panic!("DATABASE_URL sans nom de base : {url}"),
        };
        let pool = PgPoolOptions::new()
            .max_connections(connexions)
            .connect(&url_base)
            .await
            .expect("pool");
        MIGRATIONS.run(&pool).await.expect("migrations");
        Self {
            admin,
            nom: nom.to_owned(),
            pool,
            url: url_base,
        }
    }

    /// Closes the pool and drops the database.
    pub(crate) async fn supprimer(mut self) {
        self.pool.close().await;
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {}", self.nom))
            .execute(&mut self.admin)
            .await;
    }
}
