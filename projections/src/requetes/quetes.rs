//! Reads of `lecture.journal_quetes`: a character's quest log.

use chrono::{DateTime, Utc};
use domain::ids::JoueurId;
use sqlx::PgPool;

use crate::ErreurProjection;

/// A quest of a character's log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, schemars::JsonSchema)]
pub struct EntreeJournal {
    /// The quest's code.
    pub quete: String,
    /// en_cours | terminee | abandonnee.
    pub statut: String,
    /// Where its objective stands.
    pub progression: i32,
    /// What its objective requires.
    pub requis: i32,
    /// When it last changed.
    pub maj: DateTime<Utc>,
}

/// A character's quest log, by quest code.
pub async fn journal(
    pool: &PgPool,
    joueur: JoueurId,
) -> Result<Vec<EntreeJournal>, ErreurProjection> {
    Ok(sqlx::query_as(
        "SELECT quete, statut, progression, requis, maj FROM lecture.journal_quetes \
         WHERE joueur_id = $1 ORDER BY quete",
    )
    .bind(joueur.uuid())
    .fetch_all(pool)
    .await?)
}
