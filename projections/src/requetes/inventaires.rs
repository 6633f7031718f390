//! Reads of `lecture.inventaires` and `lecture.inventaire_items`: inventory summaries.

use std::collections::BTreeMap;

use sqlx::PgPool;
use uuid::Uuid;

use crate::ErreurProjection;

/// An inventory summary: gold and item counts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ResumeInventaire {
    /// The owner.
    pub joueur_id: Uuid,
    /// Gold held.
    pub or_total: i64,
    /// Count by item code (items held at zero are absent).
    pub items: BTreeMap<String, i32>,
    /// The last applied sequence of the inventory's stream.
    pub version: i64,
}

/// The inventory summaries of `ids` (those projected), by owner, each read in one statement
/// (so from one snapshot).
pub async fn resumes(
    pool: &PgPool,
    ids: &[Uuid],
) -> Result<Vec<ResumeInventaire>, ErreurProjection> {
    type Ligne = (Uuid, i64, i64, sqlx::types::Json<BTreeMap<String, i32>>);
    let lignes: Vec<Ligne> = sqlx::query_as(
        "SELECT i.joueur_id, i.or_total, i.version, \
         COALESCE(jsonb_object_agg(it.item, it.quantite) FILTER (WHERE it.item IS NOT NULL), '{}') \
         FROM lecture.inventaires i LEFT JOIN lecture.inventaire_items it USING (joueur_id) \
         WHERE i.joueur_id = ANY($1) GROUP BY i.joueur_id ORDER BY i.joueur_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(lignes
        .into_iter()
        .map(|(joueur_id, or_total, version, items)| ResumeInventaire {
            joueur_id,
            or_total,
            items: items.0,
            version,
        })
        .collect())
}
