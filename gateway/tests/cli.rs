//! The `mmo` binary as an operator runs it: `migrate` against a database that does not exist
//! yet (created), twice (idempotent), and against a server that does not answer (a clear
//! message naming PostgreSQL and how to start it); `projections status` and `rebuild`;
//! `evenements verifier` on the fixture store holding every version of every event type, and
//! on a store holding an event it cannot read.

use std::process::Command;

use sqlx::{Connection, PgConnection};

fn url_serveur() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The URL of a database named `<prefixe>_<uuid>` beside `DATABASE_URL`'s (not created: `mmo
/// migrate` creates it), and its name.
fn base_neuve(prefixe: &str) -> (String, String) {
    let nom = format!("{prefixe}_{}", uuid::Uuid::new_v4().simple());
    let url = format!(
        "{}/{nom}",
        url_serveur().rsplit_once('/').expect("url avec base").0
    );
    (nom, url)
}

/// Drops a test's database, whoever is still connected to it.
async fn supprimer(nom: &str) {
    let mut admin = PgConnection::connect(&url_serveur())
        .await
        .expect("PostgreSQL local");
    sqlx::query(&format!("DROP DATABASE {nom} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("nettoyage");
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
    let mut admin = PgConnection::connect(&url_serveur())
        .await
        .expect("PostgreSQL local");
    // Not created here: `mmo migrate` creates the database it is given.
    let (nom, url) = base_neuve("mmo_migrate");

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
    let (nom, url) = base_neuve("mmo_projections");
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

    supprimer(&nom).await;
}

#[tokio::test]
async fn serve_nomme_le_service_injoignable_et_comment_le_demarrer() {
    // A database of its own: a fixed name would be migrated by whichever checkout ran first.
    let (nom, url) = base_neuve("mmo_cli_serve");
    // Port 9 (discard) on loopback: nothing listens there.
    let cas = [
        ("MMO_REDIS_URL", "redis://127.0.0.1:9", "Redis injoignable"),
        ("MMO_NATS_URL", "nats://127.0.0.1:9", "NATS injoignable"),
    ];
    for (variable, adresse, attendu) in cas {
        let sortie = Command::new(env!("CARGO_BIN_EXE_mmo"))
            .args(["serve", "--adresse", "127.0.0.1:0"])
            .env("MMO_DATABASE_URL", &url)
            .env(variable, adresse)
            .output()
            .expect("le binaire mmo se lance");
        let erreur = String::from_utf8_lossy(&sortie.stderr);
        assert!(!sortie.status.success());
        assert!(erreur.contains(attendu), "{variable} : {erreur}");
        assert!(erreur.contains("scripts/services.sh"), "{erreur}");
    }
    supprimer(&nom).await;
}

/// The fixture store: every version of every event type, one stored row per line.
const JEU_D_ESSAI: &str = include_str!("../../magasin/tests/fixtures/evenements.jsonl");

/// Inserts stored rows (JSON objects with the `events` table's columns).
async fn inserer(base: &mut PgConnection, lignes: Vec<serde_json::Value>) {
    sqlx::query(
        "INSERT INTO events \
           (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
            id_commande, correlation_id, causation_id, compte_id) \
         SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
                (metadata ->> 'id_commande')::uuid, (metadata ->> 'correlation_id')::uuid, \
                (metadata ->> 'causation_id')::uuid, (metadata ->> 'compte_id')::uuid \
         FROM json_populate_recordset(NULL::events, $1::json)",
    )
    .bind(serde_json::Value::from(lignes))
    .execute(base)
    .await
    .expect("événements insérés");
}

#[tokio::test]
async fn evenements_verifier_relit_le_jeu_d_essai_et_nomme_un_evenement_illisible() {
    let (nom, url) = base_neuve("mmo_evenements");
    assert!(mmo(&["migrate"], &url).status.success());
    let mut base = PgConnection::connect(&url).await.expect("base migrée");
    let lignes: Vec<serde_json::Value> = JEU_D_ESSAI
        .lines()
        .map(|l| serde_json::from_str(l).expect("ligne JSON"))
        .collect();
    let n = lignes.len();
    inserer(&mut base, lignes).await;

    let sortie = mmo(&["evenements", "verifier"], &url);
    let texte = String::from_utf8_lossy(&sortie.stdout);
    assert!(
        sortie.status.success(),
        "{}{texte}",
        String::from_utf8_lossy(&sortie.stderr)
    );
    assert!(
        texte.contains(&format!(
            "{n} événements lus par le code courant, aucun illisible"
        )),
        "{texte}"
    );
    assert!(
        texte.lines().any(|l| l.starts_with("Quete")
            && l.contains("QueteAcceptee")
            && l.contains(" 1.0 ")
            && l.ends_with("2.0")),
        "{texte}"
    );

    // A payload of a version no upcaster leads from (written by a newer code, say).
    inserer(
        &mut base,
        vec![serde_json::json!({
            "aggregate_type": "Joueur",
            "aggregate_id": "00000000-0000-0000-0000-00000000dead",
            "sequence": 1,
            "event_type": "XpGagnee",
            "event_version": "7.0",
            "payload": {"XpGagnee": {"xp": 5}},
            "metadata": {},
        })],
    )
    .await;
    let sortie = mmo(&["evenements", "verifier"], &url);
    assert!(!sortie.status.success());
    let erreur = String::from_utf8_lossy(&sortie.stderr);
    assert!(
        erreur.contains(&format!("1 sur {} événements illisibles", n + 1)),
        "{erreur}"
    );
    assert!(
        erreur.contains("Joueur 00000000-0000-0000-0000-00000000dead#1 (XpGagnee 7.0"),
        "{erreur}"
    );
    assert!(erreur.contains("version « 7.0 » inconnue"), "{erreur}");

    base.close().await.expect("fermeture");
    supprimer(&nom).await;
}
