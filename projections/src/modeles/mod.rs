//! The read models, one module per projection. Each `appliquer` folds one stored event into its
//! tables inside the batch's transaction (`search_path` points at the live schema or at a
//! rebuild's shadow schema) and is replay-safe on its own: every write is guarded by the
//! version (stream sequence) last applied to the row, or keyed by the event's place, so an
//! event applied twice changes nothing.

pub(crate) mod combats;
pub(crate) mod economie;
pub(crate) mod inventaires;
pub(crate) mod joueurs;
pub(crate) mod quetes;

use commands::lecteur::EvenementStocke;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::ErreurProjection;

/// The typed event, if the stored one belongs to this aggregate type.
pub(crate) fn evenement<E: DeserializeOwned>(
    e: &EvenementStocke,
    type_agregat: &str,
) -> Result<Option<E>, ErreurProjection> {
    if e.aggregate_type != type_agregat {
        return Ok(None);
    }
    serde_json::from_value(e.payload.clone())
        .map(Some)
        .map_err(|source| ErreurProjection::Evenement {
            event_id: e.event_id,
            source,
        })
}

/// The aggregate id as a UUID (characters, combats, inventories).
pub(crate) fn uuid(e: &EvenementStocke) -> Result<Uuid, ErreurProjection> {
    Uuid::parse_str(&e.aggregate_id).map_err(|_| ErreurProjection::Identifiant {
        event_id: e.event_id,
        aggregate_id: e.aggregate_id.clone(),
    })
}

/// Moves a row's version to this event's sequence if it is behind; false if the event was
/// already applied (or the row does not exist), in which case the caller changes nothing.
pub(crate) async fn prendre_version(
    c: &mut sqlx::PgConnection,
    table: &'static str,
    cle: &'static str,
    id: Uuid,
    e: &EvenementStocke,
) -> Result<bool, ErreurProjection> {
    let faite = sqlx::query(&format!(
        "UPDATE {table} SET version = $2, maj = $3 WHERE {cle} = $1 AND version < $2"
    ))
    .bind(id)
    .bind(e.sequence)
    .bind(e.recorded_at)
    .execute(c)
    .await?;
    Ok(faite.rows_affected() == 1)
}

/// A stat or count as PostgreSQL's `integer`.
pub(crate) fn entier(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
