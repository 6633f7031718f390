//! Service Joueur: `joueur.creer|lister|profil` and `classement.consulter`.

use domain::ids::JoueurId;
use domain::valeurs::{Classe, NomJoueur};
use projections::requetes::joueurs;
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
pub async fn creer(passerelle: &Passerelle, a: Appelant, p: Creer) -> Result<Value, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let joueur_id = commands::services::joueur::creer_personnage(
        &passerelle.depot,
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

/// The caller's characters, in creation order.
pub async fn lister(passerelle: &Passerelle, a: Appelant, _: Aucun) -> Result<Value, ErreurRpc> {
    let personnages = joueurs::personnages_du_compte(&passerelle.pool, a.compte_id).await?;
    Ok(json!({ "personnages": personnages }))
}

/// `joueur.profil`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profil {
    joueur_id: JoueurId,
}

/// Any character's public profile (cache, else read model).
pub async fn profil(passerelle: &Passerelle, p: Profil) -> Result<Value, ErreurRpc> {
    let profil =
        projections::cache::profil(&passerelle.pool, &passerelle.cache, p.joueur_id.uuid())
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

/// The leaderboard: level, then XP, then name.
pub async fn classement(passerelle: &Passerelle, p: Classement) -> Result<Value, ErreurRpc> {
    if !(1..=100).contains(&p.limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 100"));
    }
    let lignes = joueurs::classement(&passerelle.pool, p.classe, p.limite, p.depuis).await?;
    Ok(json!({ "classement": lignes }))
}
