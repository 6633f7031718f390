//! The `mmo` binary as an operator runs it: `migrate` against a database that does not exist
//! yet (created), twice (idempotent), and against a server that does not answer (a clear
//! message naming PostgreSQL and how to start it); `projections status` and `rebuild`.

use std::process::Command;

use sqlx::{Connection, PgConnection};

fn url_serveur() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn mmo(args: &[&str], database_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mmo"))
        .args(args)
        .env("MMO_DATABASE_URL", database_url)
        .output()
        .expect("le binaire mmo se lance")
}

#[tokio::test]
async fn migrate_prepare_une_base_neuve_et_peut_etre_relance() {
    let nom = format!("mmo_migrate_{}", uuid::Uuid::new_v4().simple());
    let serveur = url_serveur();
    let mut admin = PgConnection::connect(&serveur)
        .await
        .expect("PostgreSQL local");
    // Not created here: `mmo migrate` creates the database it is given.
    let url = format!(
        "{}/{nom}",
        serveur.rsplit_once('/').expect("url avec base").0
    );

    for _ in 0..2 {
        let sortie = mmo(&["migrate"], &url);
        assert!(
            sortie.status.success(),
            "{}",
            String::from_utf8_lossy(&sortie.stderr)
        );
        assert!(String::from_utf8_lossy(&sortie.stdout).contains("base à jour"));
    }
    let mut base = PgConnection::connect(&url).await.expect("base migrée");
    let (tables,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_name IN ('events', 'commandes_appliquees', 'comptes', 'noms_joueurs', 'points_de_reprise')",
    )
    .fetch_one(&mut base)
    .await
    .expect("lecture");
    assert_eq!(tables, 5);
    base.close().await.expect("fermeture");
    sqlx::query(&format!("DROP DATABASE {nom}"))
        .execute(&mut admin)
        .await
        .expect("nettoyage");
}

#[test]
fn migrate_sans_postgresql_dit_lequel_et_comment_le_demarrer() {
    // Nothing listens on port 1.
    let sortie = mmo(&["migrate"], "postgres://postgres:secret@127.0.0.1:1/mmo");
    assert!(!sortie.status.success());
    let erreur = String::from_utf8_lossy(&sortie.stderr);
    assert!(erreur.contains("PostgreSQL injoignable"), "{erreur}");
    assert!(erreur.contains("scripts/services.sh"), "{erreur}");
    assert!(
        !erreur.contains("secret"),
        "le mot de passe ne s'affiche pas : {erreur}"
    );
}

#[tokio::test]
async fn projections_status_et_rebuild_sur_une_base_neuve() {
    let nom = format!("mmo_projections_{}", uuid::Uuid::new_v4().simple());
    let serveur = url_serveur();
    let url = format!(
        "{}/{nom}",
        serveur.rsplit_once('/').expect("url avec base").0
    );
    assert!(mmo(&["migrate"], &url).status.success());

    let statut = mmo(&["projections", "status"], &url);
    assert!(
        statut.status.success(),
        "{}",
        String::from_utf8_lossy(&statut.stderr)
    );
    let texte = String::from_utf8_lossy(&statut.stdout);
    for p in ["joueurs", "inventaires", "quetes", "combats", "economie"] {
        assert!(texte.contains(p), "{p} absent de : {texte}");
    }

    let tout = mmo(&["projections", "rebuild", "all"], &url);
    assert!(
        tout.status.success(),
        "{}",
        String::from_utf8_lossy(&tout.stderr)
    );
    let texte = String::from_utf8_lossy(&tout.stdout);
    assert_eq!(texte.matches("événements rejoués").count(), 5, "{texte}");

    let inconnue = mmo(&["projections", "rebuild", "dragons"], &url);
    assert!(!inconnue.status.success());
    assert!(String::from_utf8_lossy(&inconnue.stderr).contains("projection inconnue « dragons »"));

    let mut admin = PgConnection::connect(&serveur)
        .await
        .expect("PostgreSQL local");
    sqlx::query(&format!("DROP DATABASE {nom} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("nettoyage");
}

#[test]
fn serve_nomme_le_service_injoignable_et_comment_le_demarrer() {
    // Port 9 (discard) on loopback: nothing listens there.
    let cas = [
        ("MMO_REDIS_URL", "redis://127.0.0.1:9", "Redis injoignable"),
        ("MMO_NATS_URL", "nats://127.0.0.1:9", "NATS injoignable"),
    ];
    for (variable, url, attendu) in cas {
        let sortie = Command::new(env!("CARGO_BIN_EXE_mmo"))
            .args(["serve", "--adresse", "127.0.0.1:0"])
            .env(
                "MMO_DATABASE_URL",
                format!(
                    "{}/mmo_cli_serve",
                    url_serveur().rsplit_once('/').expect("url").0
                ),
            )
            .env(variable, url)
            .output()
            .expect("le binaire mmo se lance");
        let erreur = String::from_utf8_lossy(&sortie.stderr);
        assert!(!sortie.status.success());
        assert!(erreur.contains(attendu), "{variable} : {erreur}");
        assert!(erreur.contains("scripts/services.sh"), "{erreur}");
    }
}
