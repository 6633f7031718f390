//! Service Économie: `inventaire.consulter|fabriquer|acheter|vendre|jeter`,
//! `echange.proposer|modifier|accepter|annuler`, `economie.grand_livre|totaux`.

use commands::services::economie as service;
use domain::echange::Offre;
use domain::ids::{EchangeId, JoueurId};
use domain::valeurs::{CodeItem, CodeMarchand, CodeRecette, Quantite};
use projections::requetes::{economie, inventaires};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use projections::Projection;

use super::appelant::{Appelant, verifier_proprietaire};
use super::coherence::{a_jour, commande};
use super::joueur::AJourDe;
use crate::passerelle::Passerelle;
use crate::protocole::{Curseur, ErreurRpc, Evenements, evenements_json};

/// `inventaire.consulter`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consulter {
    joueur_id: JoueurId,
    /// A cursor the answer must reflect (a command's `curseur`): the read waits, bounded,
    /// until the read models have passed it (`LECTURE_EN_RETARD` past the bound).
    #[serde(default)]
    a_jour_de: Option<Curseur>,
}

/// The inventory of one of the caller's characters (cache, else read model; the read model
/// when it must reflect a cursor).
pub async fn consulter(
    passerelle: &Passerelle,
    a: Appelant,
    p: Consulter,
) -> Result<inventaires::ResumeInventaire, ErreurRpc> {
    verifier_proprietaire(passerelle, a, p.joueur_id).await?;
    let (pool, cache, id) = (&passerelle.pool, &passerelle.cache, p.joueur_id.uuid());
    let resume = if a_jour(passerelle, &[Projection::Inventaires], p.a_jour_de).await? {
        projections::cache::relire_inventaire(pool, cache, id).await?
    } else {
        projections::cache::inventaire(pool, cache, id).await?
    };
    resume.ok_or_else(|| ErreurRpc::introuvable("inventaire", &p.joueur_id))
}

/// `inventaire.fabriquer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fabriquer {
    joueur_id: JoueurId,
    recette: CodeRecette,
    id_commande: Option<Uuid>,
}

/// Crafts a recipe once.
pub async fn fabriquer(
    passerelle: &Passerelle,
    a: Appelant,
    p: Fabriquer,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::fabriquer(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.recette,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// `inventaire.acheter`, `inventaire.vendre`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Negoce {
    joueur_id: JoueurId,
    marchand: CodeMarchand,
    item: CodeItem,
    quantite: Quantite,
    id_commande: Option<Uuid>,
}

/// Buys from a merchant.
pub async fn acheter(
    passerelle: &Passerelle,
    a: Appelant,
    p: Negoce,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let negoce = service::Negoce {
        marchand: p.marchand,
        item: p.item,
        quantite: p.quantite,
    };
    let (e, curseur) = commande(service::acheter(
        &passerelle.depot,
        &passerelle.monde,
        a.compte_id,
        p.joueur_id,
        negoce,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// Sells to a merchant.
pub async fn vendre(
    passerelle: &Passerelle,
    a: Appelant,
    p: Negoce,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let negoce = service::Negoce {
        marchand: p.marchand,
        item: p.item,
        quantite: p.quantite,
    };
    let (e, curseur) = commande(service::vendre(
        &passerelle.depot,
        &passerelle.monde,
        a.compte_id,
        p.joueur_id,
        negoce,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// `inventaire.jeter`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Jeter {
    joueur_id: JoueurId,
    item: CodeItem,
    quantite: Quantite,
    id_commande: Option<Uuid>,
}

/// Throws items away (a destruction in the ledger).
pub async fn jeter(
    passerelle: &Passerelle,
    a: Appelant,
    p: Jeter,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::jeter(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.item,
        p.quantite,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// `echange.proposer`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Proposer {
    joueur_id: JoueurId,
    destinataire: JoueurId,
    offre: Offre,
    id_commande: Option<Uuid>,
}

/// Opens a trade with another character, the caller's offer reserved.
pub async fn proposer(
    passerelle: &Passerelle,
    a: Appelant,
    p: Proposer,
) -> Result<EchangeOuvert, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let echeance = chrono::TimeDelta::from_std(passerelle.duree_echange)
        .ok()
        .and_then(|d| meta.horodatage.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let (echange_id, curseur) = commande(service::proposer(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.destinataire,
        p.offre,
        echeance,
        &meta,
    ))
    .await?;
    Ok(EchangeOuvert {
        echange_id,
        curseur,
    })
}

/// `echange.proposer`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EchangeOuvert {
    /// The new trade.
    pub echange_id: EchangeId,
    /// Where the last event the command wrote stands in the global order (its first
    /// application's, for a replay): a read given it as `a_jour_de` reflects the command.
    pub curseur: Option<Curseur>,
}

/// `echange.modifier`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Modifier {
    joueur_id: JoueurId,
    echange_id: EchangeId,
    offre: Offre,
    id_commande: Option<Uuid>,
}

/// Replaces the caller's offer (both acceptances reset).
pub async fn modifier(
    passerelle: &Passerelle,
    a: Appelant,
    p: Modifier,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::modifier(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.echange_id,
        p.offre,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// `echange.accepter`, `echange.annuler`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnEchange {
    joueur_id: JoueurId,
    echange_id: EchangeId,
    id_commande: Option<Uuid>,
}

/// Accepts the offers as they stand; the second acceptance settles the trade.
pub async fn accepter(
    passerelle: &Passerelle,
    a: Appelant,
    p: UnEchange,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::accepter(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.echange_id,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// Calls a trade off.
pub async fn annuler(
    passerelle: &Passerelle,
    a: Appelant,
    p: UnEchange,
) -> Result<Evenements, ErreurRpc> {
    let meta = a.meta(p.id_commande);
    let (e, curseur) = commande(service::annuler(
        &passerelle.depot,
        a.compte_id,
        p.joueur_id,
        p.echange_id,
        &meta,
    ))
    .await?;
    evenements_json(&e, curseur)
}

/// `economie.grand_livre`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrandLivre {
    joueur_id: JoueurId,
    /// Only movements after this sequence of the inventory's stream (paging).
    #[serde(default)]
    #[schemars(range(min = 0))]
    apres: i64,
    /// Events (sequences) per page, 1 to 500 (default 100); a page holds whole events.
    #[serde(default = "cent")]
    #[schemars(range(min = 1, max = 500))]
    limite: u32,
    /// A cursor the answer must reflect (a command's `curseur`): the read waits, bounded,
    /// until the read models have passed it (`LECTURE_EN_RETARD` past the bound).
    #[serde(default)]
    a_jour_de: Option<Curseur>,
}

fn cent() -> u32 {
    100
}

/// The audit of a character's economy: every gold and item movement with its cause and the
/// balance after it, oldest first, by pages.
pub async fn grand_livre(
    passerelle: &Passerelle,
    a: Appelant,
    p: GrandLivre,
) -> Result<PageGrandLivre, ErreurRpc> {
    if !(1..=500).contains(&p.limite) {
        return Err(ErreurRpc::parametres(&"`limite` va de 1 à 500"));
    }
    if p.apres < 0 {
        return Err(ErreurRpc::parametres(
            &"`apres` est une `sequence` : un entier de 0 à 9223372036854775807",
        ));
    }
    verifier_proprietaire(passerelle, a, p.joueur_id).await?;
    a_jour(passerelle, &[Projection::Economie], p.a_jour_de).await?;
    let lignes = economie::grand_livre(&passerelle.pool, p.joueur_id, p.apres, p.limite).await?;
    Ok(PageGrandLivre {
        joueur_id: p.joueur_id,
        mouvements: lignes,
    })
}

/// `economie.grand_livre`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PageGrandLivre {
    /// The character.
    pub joueur_id: JoueurId,
    /// Oldest first, whole events.
    pub mouvements: Vec<economie::Mouvement>,
}

/// Created and destroyed per resource and cause, for every account (admin): the proof of
/// conservation.
pub async fn totaux(passerelle: &Passerelle, p: AJourDe) -> Result<Totaux, ErreurRpc> {
    a_jour(passerelle, &[Projection::Economie], p.curseur()).await?;
    let totaux = economie::totaux(&passerelle.pool).await?;
    Ok(Totaux { totaux })
}

/// `economie.totaux`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Totaux {
    /// By resource, then cause.
    pub totaux: Vec<economie::Total>,
}
