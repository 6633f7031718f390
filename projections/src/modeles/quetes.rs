//! `journal_quetes`: each character's quests, their status and progress.

use commands::lecteur::EvenementStocke;
use cqrs_es::Aggregate as _;
use domain::quete::{EvenementQuete, Quete};
use sqlx::PgConnection;

use super::{entier, evenement};
use crate::ErreurProjection;

pub(crate) async fn appliquer(
    c: &mut PgConnection,
    e: &EvenementStocke,
) -> Result<(), ErreurProjection> {
    let Some(ev) = evenement::<EvenementQuete>(e, Quete::TYPE)? else {
        return Ok(());
    };
    // The aggregate id is "<character>:<quest>".
    let Some((joueur, quete)) = e.aggregate_id.split_once(':') else {
        return Err(ErreurProjection::Identifiant {
            event_id: e.event_id,
            aggregate_id: e.aggregate_id.clone(),
        });
    };
    let joueur = uuid::Uuid::parse_str(joueur).map_err(|_| ErreurProjection::Identifiant {
        event_id: e.event_id,
        aggregate_id: e.aggregate_id.clone(),
    })?;
    // Every write is guarded by the stream's sequence: acceptance may follow an abandon, so
    // the row is upserted, never inserted twice.
    let (statut, progression, requis): (&str, Option<i32>, Option<i32>) = match &ev {
        EvenementQuete::QueteAcceptee { objectif, .. } => {
            ("en_cours", Some(0), Some(entier(objectif.requis())))
        }
        EvenementQuete::QueteProgressee {
            progression,
            requis,
            ..
        } => (
            "en_cours",
            Some(entier(*progression)),
            Some(entier(*requis)),
        ),
        EvenementQuete::QueteTerminee { .. } => ("terminee", None, None),
        EvenementQuete::QueteAbandonnee { .. } => ("abandonnee", None, None),
    };
    sqlx::query(
        "INSERT INTO journal_quetes (joueur_id, quete, statut, progression, requis, version, maj) \
         VALUES ($1, $2, $3, COALESCE($4, 0), COALESCE($5, 0), $6, $7) \
         ON CONFLICT (joueur_id, quete) DO UPDATE SET \
           statut = EXCLUDED.statut, \
           progression = COALESCE($4, journal_quetes.progression), \
           requis = COALESCE($5, journal_quetes.requis), \
           version = EXCLUDED.version, maj = EXCLUDED.maj \
         WHERE journal_quetes.version < EXCLUDED.version",
    )
    .bind(joueur)
    .bind(quete)
    .bind(statut)
    .bind(progression)
    .bind(requis)
    .bind(e.sequence)
    .bind(e.recorded_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}
