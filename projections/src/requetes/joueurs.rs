//! Reads of `lecture.joueurs`: profiles, an account's characters, the leaderboard.

use chrono::{DateTime, Utc};
use domain::ids::CompteId;
use domain::valeurs::Classe;
use sqlx::PgPool;
use uuid::Uuid;

use crate::ErreurProjection;

/// A character's profile: the columns of `lecture.joueurs`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, schemars::JsonSchema)]
pub struct Profil {
    /// The character.
    pub joueur_id: Uuid,
    /// Its owner.
    pub compte_id: Uuid,
    /// Its name.
    pub nom: String,
    /// Its class.
    pub classe: String,
    /// Its level.
    pub niveau: i32,
    /// Its total XP.
    pub xp: i64,
    /// Max hit points.
    pub pv_max: i32,
    /// Attack.
    pub attaque: i32,
    /// Defense.
    pub defense: i32,
    /// Healing.
    pub soin: i32,
    /// The combat it is in, if any.
    pub combat_id: Option<Uuid>,
    /// The last applied sequence of its stream.
    pub version: i64,
    /// When that event was recorded.
    pub maj: DateTime<Utc>,
}

/// The profiles of `ids` (those projected), by id.
pub async fn profils(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<Profil>, ErreurProjection> {
    Ok(sqlx::query_as(
        "SELECT joueur_id, compte_id, nom, classe, niveau, xp, pv_max, attaque, defense, soin, \
         combat_id, version, maj FROM lecture.joueurs WHERE joueur_id = ANY($1) ORDER BY joueur_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?)
}

/// A character of an account: its profile once projected (the profile's columns are null in
/// the instant between its creation and its projection).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, schemars::JsonSchema)]
pub struct Personnage {
    /// The character.
    pub joueur_id: Uuid,
    /// Its name (reserved with the character, so never missing).
    pub nom: String,
    /// Its class.
    pub classe: Option<String>,
    /// Its level.
    pub niveau: Option<i32>,
    /// Its total XP.
    pub xp: Option<i64>,
    /// The combat it is in, if any.
    pub combat_id: Option<Uuid>,
}

/// An account's characters, in creation order. The list comes from `noms_joueurs` (written
/// with the creation command, never late) and the profiles from the read model.
pub async fn personnages_du_compte(
    pool: &PgPool,
    compte: CompteId,
) -> Result<Vec<Personnage>, ErreurProjection> {
    Ok(sqlx::query_as(
        "SELECT n.joueur_id, n.nom, j.classe, j.niveau, j.xp, j.combat_id \
         FROM noms_joueurs n LEFT JOIN lecture.joueurs j USING (joueur_id) \
         WHERE n.compte_id = $1 ORDER BY n.reserve_le, n.joueur_id",
    )
    .bind(compte.uuid())
    .fetch_all(pool)
    .await?)
}

/// A line of the leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, schemars::JsonSchema)]
pub struct LigneClassement {
    /// 1 for the first, among the characters of the class asked for (or all).
    pub rang: i64,
    /// The character.
    pub joueur_id: Uuid,
    /// Its name.
    pub nom: String,
    /// Its class.
    pub classe: String,
    /// Its level.
    pub niveau: i32,
    /// Its total XP.
    pub xp: i64,
}

/// The leaderboard (level, then XP, then name, then id: no ties), `limite` lines from the
/// rank after `depuis`, of one class or all. The index `joueurs_classement` serves it.
pub async fn classement(
    pool: &PgPool,
    classe: Option<Classe>,
    limite: u32,
    depuis: u32,
) -> Result<Vec<LigneClassement>, ErreurProjection> {
    Ok(sqlx::query_as(
        "SELECT rang, joueur_id, nom, classe, niveau, xp FROM ( \
           SELECT row_number() OVER (ORDER BY niveau DESC, xp DESC, nom, joueur_id) AS rang, \
                  joueur_id, nom, classe, niveau, xp \
           FROM lecture.joueurs WHERE $1::text IS NULL OR classe = $1 \
           ORDER BY niveau DESC, xp DESC, nom, joueur_id LIMIT $2 + $3) c \
         WHERE rang > $3 ORDER BY rang",
    )
    .bind(classe.map(Classe::nom))
    .bind(i64::from(limite))
    .bind(i64::from(depuis))
    .fetch_all(pool)
    .await?)
}
