//! Reads of `lecture.grand_livre` and `lecture.economie_totaux`: a character's ledger, the
//! economy's totals.

use chrono::{DateTime, Utc};
use domain::ids::JoueurId;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErreurProjection;

/// A movement of gold or of an item in a character's ledger.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, schemars::JsonSchema)]
pub struct Mouvement {
    /// The event's place in the inventory's stream.
    pub sequence: i64,
    /// `or` or an item code.
    pub ressource: String,
    /// Gained (positive) or lost.
    pub delta: i64,
    /// The balance of that resource after it.
    pub solde_apres: i64,
    /// Why (`achat`, `butin`, `echange`...).
    pub cause: String,
    /// The cause's details (merchant, recipe, trade...).
    pub detail: Value,
    /// The request it came from.
    pub correlation_id: Option<Uuid>,
    /// When it was recorded.
    pub horodatage: DateTime<Utc>,
}

/// A page of a character's ledger: the movements of the first `limite` events after the
/// sequence `apres`, oldest first, then by resource.
pub async fn grand_livre(
    pool: &PgPool,
    joueur: JoueurId,
    apres: i64,
    limite: u32,
) -> Result<Vec<Mouvement>, ErreurProjection> {
    Ok(sqlx::query_as(
        // A page ends on a whole event: one event may move gold and items (several rows), and
        // the next page starts after the last sequence shown.
        "SELECT sequence, ressource, delta, solde_apres, cause, detail, correlation_id, \
                recorded_at AS horodatage \
         FROM lecture.grand_livre WHERE joueur_id = $1 AND sequence IN ( \
             SELECT DISTINCT sequence FROM lecture.grand_livre \
             WHERE joueur_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3) \
         ORDER BY sequence, ressource",
    )
    .bind(joueur.uuid())
    .bind(apres)
    .bind(i64::from(limite))
    .fetch_all(pool)
    .await?)
}

/// Created and destroyed of one resource by one cause, over every account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, schemars::JsonSchema)]
pub struct Total {
    /// `or` or an item code.
    pub ressource: String,
    /// Why.
    pub cause: String,
    /// How much came into the world.
    pub cree: i64,
    /// How much left it.
    pub detruit: i64,
}

/// The economy's totals by resource, then cause: the proof of conservation.
pub async fn totaux(pool: &PgPool) -> Result<Vec<Total>, ErreurProjection> {
    Ok(sqlx::query_as(
        "SELECT ressource, cause, cree, detruit FROM lecture.economie_totaux \
         ORDER BY ressource, cause",
    )
    .fetch_all(pool)
    .await?)
}
