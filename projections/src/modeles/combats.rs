//! `combats` (one summary per combat) and `combats_historique` (the audit trail: every event of
//! every combat, in order, with who caused it, why and when).

use commands::lecteur::EvenementStocke;
use cqrs_es::Aggregate as _;
use domain::combat::{Combat, EvenementCombat, Issue};
use sqlx::PgConnection;

use super::{entier, evenement, uuid};
use crate::ErreurProjection;

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    e: &EvenementStocke,
) -> Result<(), ErreurProjection> {
    let Some(ev) = evenement::<EvenementCombat>(e, Combat::TYPE)? else {
        return Ok(());
    };
    let id = uuid(e)?;
    let inseree = sqlx::query(
        "INSERT INTO combats_historique (combat_id, sequence, event_type, payload, compte_id, \
         correlation_id, causation_id, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (combat_id, sequence) DO NOTHING",
    )
    .bind(id)
    .bind(e.sequence)
    .bind(&e.event_type)
    .bind(&e.payload)
    .bind(e.compte_id)
    .bind(e.correlation_id)
    .bind(e.causation_id)
    .bind(e.recorded_at)
    .execute(&mut *c)
    .await?;
    if inseree.rows_affected() == 0 {
        return Ok(());
    }
    resumer(c, id, e, ev).await
}

/// The summary row: created by the preparation, then moved by the events that change its
/// party, phase or round (each guarded by the combat's version).
async fn resumer(
    c: &mut PgConnection,
    id: uuid::Uuid,
    e: &EvenementStocke,
    ev: EvenementCombat,
) -> Result<(), ErreurProjection> {
    // Summary updates: $1 the combat, $2 this event's sequence (the guard), then their own.
    let maj = |sql: &'static str| sqlx::query(sql).bind(id).bind(e.sequence);
    match ev {
        EvenementCombat::CombatPrepare {
            rencontre,
            zone,
            initiateur,
            ..
        } => {
            sqlx::query(
                "INSERT INTO combats (combat_id, rencontre, zone, initiateur, participants, phase, \
                 tour, debut, version) VALUES ($1, $2, $3, $4, ARRAY[$4]::uuid[], 'preparation', 0, $5, $6) \
                 ON CONFLICT (combat_id) DO NOTHING",
            )
            .bind(id)
            .bind(rencontre.as_str())
            .bind(zone.as_str())
            .bind(initiateur.joueur_id.uuid())
            .bind(e.recorded_at)
            .bind(e.sequence)
            .execute(&mut *c)
            .await?;
        }
        EvenementCombat::CombattantRejoint { combattant } => {
            maj(
                "UPDATE combats SET participants = array_append(participants, $3), version = $2 \
                 WHERE combat_id = $1 AND version < $2",
            )
            .bind(combattant.joueur_id.uuid())
            .execute(&mut *c)
            .await?;
        }
        EvenementCombat::CombattantParti { joueur_id } => {
            maj(
                "UPDATE combats SET participants = array_remove(participants, $3), version = $2 \
                 WHERE combat_id = $1 AND version < $2",
            )
            .bind(joueur_id.uuid())
            .execute(&mut *c)
            .await?;
        }
        EvenementCombat::CombatLance { .. } => {
            maj("UPDATE combats SET phase = 'en_cours', version = $2 \
                 WHERE combat_id = $1 AND version < $2")
            .execute(&mut *c)
            .await?;
        }
        EvenementCombat::TourCommence { tour, .. } => {
            maj("UPDATE combats SET tour = $3, version = $2 \
                 WHERE combat_id = $1 AND version < $2")
            .bind(entier(tour))
            .execute(&mut *c)
            .await?;
        }
        EvenementCombat::CombatAnnule { .. } => {
            maj(
                "UPDATE combats SET phase = 'annule', fin = $3, version = $2 \
                 WHERE combat_id = $1 AND version < $2",
            )
            .bind(e.recorded_at)
            .execute(&mut *c)
            .await?;
        }
        EvenementCombat::CombatTermine { issue, tours, .. } => {
            let phase = match issue {
                Issue::Victoire => "victoire",
                Issue::Defaite => "defaite",
            };
            maj(
                "UPDATE combats SET phase = $3, tour = $4, fin = $5, version = $2 \
                 WHERE combat_id = $1 AND version < $2",
            )
            .bind(phase)
            .bind(entier(tours))
            .bind(e.recorded_at)
            .execute(&mut *c)
            .await?;
        }
        // Actions and blows live in the audit trail; the summary does not change.
        _ => {}
    }
    Ok(())
}
