//! The game loop end to end, with the bus in the loop and no direct call between services:
//! three players on three accounts are placed in the start zone by the process manager, see
//! each other move, chat in the zone, fight the wolves together and win; then each one's XP,
//! loot (inventory and ledger), quest progress and the combat's history are read through the
//! gateway (`mmo_tests::scenario`).

use mmo_tests::{Banc, scenario};
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn trois_joueurs_se_retrouvent_combattent_ensemble_et_sont_payes_par_le_bus(pool: PgPool) {
    let banc = Banc::demarrer(&pool).await;
    let bilan = scenario::jouer(&banc, &pool, async || {}).await;
    bilan.verifier_les_recompenses(&banc, &pool).await;
    banc.arreter().await;
}
