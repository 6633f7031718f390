//! The pool follows the primary (`gateway::primaire`), on the machine's PostgreSQL: two
//! databases of the test stand for two servers, one of them read-only as a standby is
//! (`ALTER DATABASE … SET default_transaction_read_only = on`: its sessions answer
//! `transaction_read_only = on`, libpq's sign of a server that does not write). The pool goes
//! to the one that writes; when the roles swap and the first one's sessions are cut (what a
//! failover does), it follows to the other. `scripts/grappe.sh fautes` proves the same with
//! two real clusters, a kill -9 and a promotion, under load.

use std::time::{Duration, Instant};

use gateway::primaire::{self, Serveurs};
use sqlx::{Connection as _, PgConnection, PgPool};

fn url_serveur() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Two fresh databases on the machine's server, `<nom>_a` and `<nom>_b`; `b` read-only.
struct DeuxServeurs {
    admin: PgConnection,
    noms: [String; 2],
}

impl DeuxServeurs {
    async fn new() -> Self {
        let mut admin = PgConnection::connect(&url_serveur())
            .await
            .expect("PostgreSQL local");
        let base = format!("primaire_{}", uuid::Uuid::new_v4().simple());
        let noms = [format!("{base}_a"), format!("{base}_b")];
        for nom in &noms {
            sqlx::query(&format!("CREATE DATABASE {nom}"))
                .execute(&mut admin)
                .await
                .expect("base de test");
        }
        let mut s = Self { admin, noms };
        s.lecture_seule(1, true).await;
        s
    }

    /// The URL naming both, libpq's way, wanting a server that writes.
    fn serveurs(&self) -> Serveurs {
        let mut s = Serveurs::parse(&format!(
            "{}?target_session_attrs=read-write",
            url_serveur()
        ))
        .expect("URL");
        let un = s.options[0].clone();
        s.options = self.noms.iter().map(|n| un.clone().database(n)).collect();
        s.urls = self.noms.clone().into();
        s
    }

    async fn lecture_seule(&mut self, i: usize, oui: bool) {
        let sql = if oui {
            format!(
                "ALTER DATABASE {} SET default_transaction_read_only = on",
                self.noms[i]
            )
        } else {
            format!(
                "ALTER DATABASE {} RESET default_transaction_read_only",
                self.noms[i]
            )
        };
        sqlx::query(&sql)
            .execute(&mut self.admin)
            .await
            .expect("réglage");
    }

    /// Cuts every session of database `i`, as a server that dies does.
    async fn couper(&mut self, i: usize) {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.noms[i])
        .execute(&mut self.admin)
        .await
        .expect("coupure");
    }

    async fn supprimer(mut self) {
        for nom in &self.noms {
            sqlx::query(&format!("DROP DATABASE {nom} WITH (FORCE)"))
                .execute(&mut self.admin)
                .await
                .expect("nettoyage");
        }
    }
}

/// The database a write through the pool lands in, if one does.
async fn ecrit_dans(pool: &PgPool) -> Option<String> {
    let mut tx = pool.begin().await.ok()?;
    sqlx::query("CREATE TEMP TABLE t (x int) ON COMMIT DROP")
        .execute(&mut *tx)
        .await
        .ok()?;
    let (base,): (String,) = sqlx::query_as("SELECT current_database()")
        .fetch_one(&mut *tx)
        .await
        .ok()?;
    tx.commit().await.ok()?;
    Some(base)
}

#[tokio::test]
async fn le_pool_va_au_serveur_qui_ecrit_meme_nomme_en_second() {
    let mut deux = DeuxServeurs::new().await;
    // The first named is the read-only one this time.
    deux.lecture_seule(0, true).await;
    deux.lecture_seule(1, false).await;
    let pool = primaire::connecter(&deux.serveurs(), 4)
        .await
        .expect("pool");
    for _ in 0..8 {
        assert_eq!(ecrit_dans(&pool).await.as_deref(), Some(&*deux.noms[1]));
    }
    pool.close().await;
    deux.supprimer().await;
}

#[tokio::test]
async fn le_pool_suit_le_primaire_quand_les_roles_s_echangent() {
    let mut deux = DeuxServeurs::new().await;
    let pool = primaire::connecter(&deux.serveurs(), 4)
        .await
        .expect("pool");
    assert_eq!(ecrit_dans(&pool).await.as_deref(), Some(&*deux.noms[0]));

    // The failover: the first turns read-only (a demoted primary), the second writes (the
    // promoted standby), the first's sessions are cut.
    deux.lecture_seule(0, true).await;
    deux.lecture_seule(1, false).await;
    deux.couper(0).await;
    let debut = Instant::now();
    loop {
        if ecrit_dans(&pool).await.as_deref() == Some(&*deux.noms[1]) {
            break;
        }
        assert!(
            debut.elapsed() < Duration::from_secs(10),
            "le pool n'a pas suivi le primaire en 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // From then on every write goes there: no connection of before is handed out again.
    for _ in 0..20 {
        assert_eq!(ecrit_dans(&pool).await.as_deref(), Some(&*deux.noms[1]));
    }
    pool.close().await;
    deux.supprimer().await;
}
