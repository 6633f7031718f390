//! The NATS server stopped in the middle of the game loop and started again: the combat goes
//! on (commands and pushes do not need the bus), the events written meanwhile reach the bus
//! from the relay's checkpoint once NATS is back, and every reward is paid exactly once.
//!
//! Alone in its test binary: it stops the machine's NATS, which other tests use.

use std::process::Command;

use mmo_tests::{Banc, ecoute, scenario};
use sqlx::PgPool;

/// `scripts/services.sh` with these arguments (no argument: start whatever is down).
fn services(arguments: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/services.sh");
    let statut = Command::new(script)
        .args(arguments)
        .status()
        .expect("scripts/services.sh");
    assert!(statut.success(), "scripts/services.sh {arguments:?}");
}

/// Starts NATS again when dropped, so that a failing test never leaves the machine without
/// it for the test binaries that follow.
struct RelancerNats;

impl Drop for RelancerNats {
    fn drop(&mut self) {
        // Not `services`: a second panic while unwinding would abort the test binary.
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/services.sh");
        let _ = Command::new(script).status();
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn un_redemarrage_de_nats_en_pleine_partie_ne_perd_ni_ne_double_rien(pool: PgPool) {
    let _relancer = RelancerNats;
    let banc = Banc::demarrer(&pool).await;
    let bilan = scenario::jouer(&banc, &pool, async || {
        services(&["arreter", "nats"]);
        assert!(!ecoute(4222), "NATS répond encore sur 4222 après son arrêt");
    })
    .await;
    // The whole combat was fought without NATS: the victory is not paid yet. Read once the
    // projections applied the whole store, so that an XP of 0 is not just a profile behind.
    assert!(!ecoute(4222), "NATS est revenu pendant le combat");
    banc.projections_a_jour(&pool).await;
    let tank = &bilan.joueurs[0];
    let profil = banc
        .appel(
            &tank.compte.jeton,
            "joueur.profil",
            serde_json::json!({ "joueur_id": tank.id }),
        )
        .await
        .expect("profil");
    assert_eq!(profil["xp"], 0, "rien n'est payé sans le bus : {profil}");
    services(&[]);
    assert!(ecoute(4222), "NATS ne répond pas après son redémarrage");
    bilan.verifier_les_recompenses(&banc, &pool).await;
    banc.arreter().await;
}
