//! Service Joueur: `joueur.creer|lister|profil` and `classement.consulter`.

use domain::ids::JoueurId;
use domain::valeurs::{Classe, NomJoueur};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::appelant::Appelant;
use crate::passerelle::Passerelle;
use crate::protocole::{ErreurRpc, en_json};

/// `joueur.creer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Creer {
    nom: NomJoueur,
    classe: Classe,
    id_commande: Option<Uuid>,
}

/// Creates a character of the caller's account.
pub async fn creer(etat: &Passerelle, a: Appelant, p: Creer) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let joueur_id = commands::services::joueur::creer_personnage(
        &etat.depot,
        a.compte_id,
        p.nom,
        p.classe,
        &meta,
    )
    .await?;
    Ok(json!({ "joueur_id": joueur_id }))
}

/// No params.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aucun {}

/// A character of the list: its profile once projected (`profil` is null in the instant
/// between its creation and its projection).
#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct Personnage {
    joueur_id: Uuid,
    nom: String,
    classe: Option<String>,
    niveau: Option<i32>,
    xp: Option<i64>,
    combat_id: Option<Uuid>,
}

/// The caller's characters, in creation order.
pub async fn lister(etat: &Passerelle, a: Appelant, _: Aucun) -> Result<Value, ErreurRpc> {
    let lignes: Vec<Personnage> = sqlx::query_as(
        "SELECT n.joueur_id, n.nom, j.classe, j.niveau, j.xp, j.combat_id \
         FROM noms_joueurs n LEFT JOIN lecture.joueurs j USING (joueur_id) \
         WHERE n.compte_id = $1 ORDER BY n.reserve_le, n.joueur_id",
    )
    .bind(a.compte_id.uuid())
    .fetch_all(&etat.pool)
    .await?;
    Ok(json!({ "personnages": lignes }))
}

/// `joueur.profil`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profil {
    joueur_id: JoueurId,
}

/// Any character's public profile (cache, else read model).
pub async fn profil(etat: &Passerelle, p: Profil) -> Result<Value, ErreurRpc> {
    let profil = projections::cache::profil(&etat.pool, &etat.cache, p.joueur_id.uuid())
        .await?
        .ok_or_else(|| ErreurRpc::introuvable("personnage", &p.joueur_id))?;
    en_json(&profil)
}

/// `classement.consulter`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classement {
    /// 1 to 100 (default 20).
    #[serde(default = "vingt")]
    limite: u32,
    /// Rank to start after (default 0: the top).
    #[serde(default)]
    depuis: u32,
    /// Only this class.
    classe: Option<Classe>,
}

fn vingt() -> u32 {
    20
}

#[derive(Debug, sqlx::FromRow, serde::Serialize)]
struct LigneClassement {
    rang: i64,
    joueur_id: Uuid,
    nom: String,
    classe: String,
    niveau: i32,
    xp: i64,
}

/// The leaderboard: level, then XP, then name.
pub async fn classement(etat: &Passerelle, p: Classement) -> Result<Value, ErreurRpc> {
    if !(1..=100).contains(&p.limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 100"));
    }
    let classe = p.classe.map(Classe::nom);
    let lignes: Vec<LigneClassement> = sqlx::query_as(
        "SELECT rang, joueur_id, nom, classe, niveau, xp FROM ( \
           SELECT row_number() OVER (ORDER BY niveau DESC, xp DESC, nom, joueur_id) AS rang, \
                  joueur_id, nom, classe, niveau, xp \
           FROM lecture.joueurs WHERE $1::text IS NULL OR classe = $1 \
           ORDER BY niveau DESC, xp DESC, nom, joueur_id LIMIT $2 + $3) c \
         WHERE rang > $3 ORDER BY rang",
    )
    .bind(classe)
    .bind(i64::from(p.limite))
    .bind(i64::from(p.depuis))
    .fetch_all(&etat.pool)
    .await?;
    Ok(json!({ "classement": lignes }))
}
