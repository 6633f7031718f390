//! Service Économie: merchants, crafting, and the escrowed trade.
//!
//! The trade follows `doc/agregats.md` §5: an offer is reserved in its owner's inventory
//! before the trade records it; a concluded trade is settled on both inventories, a cancelled
//! one released on both. Merchants stand in zones: one trades with a merchant of the zone it
//! stands in (Service Monde).
//!
//! A trade expires at its deadline (`echeance`, set when it is proposed): the scheduler of
//! the bus sends [`expirer`] then, which releases both sides as a cancellation does.

use chrono::Utc;
use domain::echange::{CommandeEchange, Echange, EvenementEchange, Offre, StatutEchange};
use domain::ids::{CompteId, EchangeId, FabricationId, JoueurId};
use domain::inventaire::{CommandeInventaire, ErreurInventaire, EvenementInventaire, Inventaire};
use domain::joueur::Joueur;
use domain::valeurs::{CodeItem, CodeMarchand, CodeRecette, Horodatage, Quantite};
use magasin::Metadonnees;
use uuid::Uuid;

use crate::depot::Depot;
use crate::erreurs::{ErreurApplication, Refus};
use crate::services::monde::Monde;
use crate::services::{
    decider_sans_ecrire, refus_ou_premiere_reponse, verifier_possession, zone_de,
};

/// Runs an inventory command for a character of the caller's.
async fn inventaire(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    commande: CommandeInventaire,
    meta: &Metadonnees,
) -> Result<Vec<EvenementInventaire>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    depot
        .executer::<Inventaire>(&joueur_id.to_string(), commande, meta)
        .await
}

/// What is bought or sold: from whom, what, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negoce {
    /// The merchant.
    pub marchand: CodeMarchand,
    /// The item.
    pub item: CodeItem,
    /// How many.
    pub quantite: Quantite,
}

/// Refuses a merchant of another zone than the character's; an unknown merchant is left to
/// the inventory to refuse.
async fn chez_le_marchand(
    depot: &Depot,
    monde: &Monde,
    joueur_id: JoueurId,
    marchand: &CodeMarchand,
) -> Result<(), ErreurApplication> {
    let Some(zone_marchand) = depot.catalogue().marchand(marchand).map(|m| m.zone.clone()) else {
        return Ok(());
    };
    let zone = zone_de(monde, joueur_id).await?;
    if zone == zone_marchand {
        Ok(())
    } else {
        Err(ErreurApplication::Regle(Refus::Inventaire(
            ErreurInventaire::MarchandAilleurs {
                marchand: marchand.clone(),
                zone_marchand,
                zone,
            },
        )))
    }
}

/// Buys from a merchant of the character's zone.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn acheter(
    depot: &Depot,
    monde: &Monde,
    compte: CompteId,
    joueur_id: JoueurId,
    Negoce {
        marchand,
        item,
        quantite,
    }: Negoce,
    meta: &Metadonnees,
) -> Result<Vec<EvenementInventaire>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    chez_le_marchand(depot, monde, joueur_id, &marchand).await?;
    let commande = CommandeInventaire::Acheter {
        marchand,
        item,
        quantite,
    };
    depot
        .executer::<Inventaire>(&joueur_id.to_string(), commande, meta)
        .await
}

/// Sells to a merchant of the character's zone.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn vendre(
    depot: &Depot,
    monde: &Monde,
    compte: CompteId,
    joueur_id: JoueurId,
    Negoce {
        marchand,
        item,
        quantite,
    }: Negoce,
    meta: &Metadonnees,
) -> Result<Vec<EvenementInventaire>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    chez_le_marchand(depot, monde, joueur_id, &marchand).await?;
    let commande = CommandeInventaire::Vendre {
        marchand,
        item,
        quantite,
    };
    depot
        .executer::<Inventaire>(&joueur_id.to_string(), commande, meta)
        .await
}

/// Crafts a recipe once; the operation's id derives from the request's.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn fabriquer(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    recette: CodeRecette,
    meta: &Metadonnees,
) -> Result<Vec<EvenementInventaire>, ErreurApplication> {
    let fabrication_id = FabricationId::from_uuid(Uuid::new_v5(&meta.id_commande, b"fabrication"));
    let commande = CommandeInventaire::Fabriquer {
        fabrication_id,
        recette,
    };
    inventaire(depot, compte, joueur_id, commande, meta).await
}

/// Throws items away.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn jeter(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    item: CodeItem,
    quantite: Quantite,
    meta: &Metadonnees,
) -> Result<Vec<EvenementInventaire>, ErreurApplication> {
    let commande = CommandeInventaire::Jeter { item, quantite };
    inventaire(depot, compte, joueur_id, commande, meta).await
}

async fn reserver(
    depot: &Depot,
    joueur_id: JoueurId,
    echange_id: EchangeId,
    offre: Offre,
    meta: &Metadonnees,
) -> Result<(), ErreurApplication> {
    depot
        .executer::<Inventaire>(
            &joueur_id.to_string(),
            CommandeInventaire::Reserver { echange_id, offre },
            meta,
        )
        .await
        .map(drop)
}

/// Opens a trade from the caller's character to another character, with a first offer, until
/// `echeance` (past it, nobody concluded it: it expires).
///
/// `Proposer` is decided before the offer is reserved, so a refusal (`AvecSoiMeme`) reserves
/// nothing. Once checked it cannot be refused (the trade's id derives from the request's, a
/// replay gets its first answer), so nothing is left to release.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %proposant, %destinataire))]
pub async fn proposer(
    depot: &Depot,
    compte: CompteId,
    proposant: JoueurId,
    destinataire: JoueurId,
    offre: Offre,
    echeance: Horodatage,
    meta: &Metadonnees,
) -> Result<EchangeId, ErreurApplication> {
    verifier_possession(depot, compte, proposant).await?;
    if depot
        .charger_connu::<Joueur>(&destinataire.to_string())
        .await?
        .is_none()
    {
        return Err(ErreurApplication::introuvable("personnage", &destinataire));
    }
    let echange_id = EchangeId::from_uuid(Uuid::new_v5(&meta.id_commande, b"echange"));
    let id = echange_id.to_string();
    let proposer = CommandeEchange::Proposer {
        echange_id,
        proposant,
        destinataire,
        offre: offre.clone(),
        echeance,
    };
    if let Err(refus) = decider_sans_ecrire(depot, Echange::default(), proposer.clone()).await {
        return refus_ou_premiere_reponse::<Echange>(depot, &id, refus, meta)
            .await
            .map(|_| echange_id);
    }
    reserver(depot, proposant, echange_id, offre, &meta.etape("reserver")).await?;
    depot.executer::<Echange>(&id, proposer, meta).await?;
    Ok(echange_id)
}

/// Replaces the caller's offer in a trade.
///
/// `Modifier` is decided on the trade before the offer is reserved, so a trade that does not
/// exist, that the caller is not part of or that is closed reserves nothing. If the trade
/// closes between that check and `Modifier` (a concurrent conclusion or cancellation), the
/// offer reserved meanwhile ends with the trade like every other (doc/agregats.md §5.4).
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn modifier(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    echange_id: EchangeId,
    offre: Offre,
    meta: &Metadonnees,
) -> Result<Vec<EvenementEchange>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    let id = echange_id.to_string();
    let echange = depot.charger::<Echange>(&id).await?.unwrap_or_default();
    let modifier = CommandeEchange::Modifier {
        joueur_id,
        offre: offre.clone(),
        maintenant: Utc::now(),
    };
    if let Err(refus) = decider_sans_ecrire(depot, echange, modifier.clone()).await {
        return refus_ou_premiere_reponse::<Echange>(depot, &id, refus, meta).await;
    }
    reserver(depot, joueur_id, echange_id, offre, &meta.etape("reserver")).await?;
    depot.executer::<Echange>(&id, modifier, meta).await
}

/// Accepts the offers as they stand; the second acceptance concludes and settles the trade.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn accepter(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    echange_id: EchangeId,
    meta: &Metadonnees,
) -> Result<Vec<EvenementEchange>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    let evenements = depot
        .executer::<Echange>(
            &echange_id.to_string(),
            CommandeEchange::Accepter {
                joueur_id,
                maintenant: Utc::now(),
            },
            meta,
        )
        .await?;
    for e in &evenements {
        if let EvenementEchange::EchangeConclu {
            proposant,
            offre_proposant,
            destinataire,
            offre_destinataire,
        } = e
        {
            let cotes = [
                (
                    *proposant,
                    *destinataire,
                    offre_proposant,
                    offre_destinataire,
                ),
                (
                    *destinataire,
                    *proposant,
                    offre_destinataire,
                    offre_proposant,
                ),
            ];
            for (joueur, avec, donne, recu) in cotes {
                let conclure = CommandeInventaire::ConclureEchange {
                    echange_id,
                    avec,
                    donne: donne.clone(),
                    recu: recu.clone(),
                };
                let etape = meta.etape(&format!("regler:{joueur}"));
                depot
                    .executer::<Inventaire>(&joueur.to_string(), conclure, &etape)
                    .await?;
            }
        }
    }
    Ok(evenements)
}

/// Calls a trade off; both sides' reservations are released.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn annuler(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    echange_id: EchangeId,
    meta: &Metadonnees,
) -> Result<Vec<EvenementEchange>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    let evenements = depot
        .executer::<Echange>(
            &echange_id.to_string(),
            CommandeEchange::Annuler { joueur_id },
            meta,
        )
        .await?;
    liberer_si_clos_sans_reglement(depot, echange_id, meta).await?;
    Ok(evenements)
}

/// Expires a trade whose deadline passed (the scheduler's command; no account: the system
/// asks), then releases both sides. A trade already closed writes nothing; if it closed
/// without settlement (expired or cancelled), both sides are released again, which changes
/// nothing where they were: a delivery after a crash between the two writes completes it.
#[tracing::instrument(level = "debug", skip_all, fields(%echange_id))]
pub async fn expirer(
    depot: &Depot,
    echange_id: EchangeId,
    meta: &Metadonnees,
) -> Result<Vec<EvenementEchange>, ErreurApplication> {
    let evenements = depot
        .executer::<Echange>(
            &echange_id.to_string(),
            CommandeEchange::Expirer {
                maintenant: Utc::now(),
            },
            meta,
        )
        .await?;
    liberer_si_clos_sans_reglement(depot, echange_id, meta).await?;
    Ok(evenements)
}

/// Releases both sides of a trade that ended without a settlement (cancelled or expired):
/// every offer reserved for it is unlocked and the trade is closed in both inventories. Never
/// for a concluded trade: releasing a side not yet settled would close it before its
/// settlement, which would then move nothing.
async fn liberer_si_clos_sans_reglement(
    depot: &Depot,
    echange_id: EchangeId,
    meta: &Metadonnees,
) -> Result<(), ErreurApplication> {
    let parties = depot
        .charger::<Echange>(&echange_id.to_string())
        .await?
        .and_then(|e| e.etat().cloned())
        .filter(|e| matches!(e.statut, StatutEchange::Annule | StatutEchange::Expire))
        .map(|e| [e.proposant.joueur_id, e.destinataire.joueur_id]);
    for joueur in parties.into_iter().flatten() {
        let liberer = CommandeInventaire::Liberer { echange_id };
        let etape = meta.etape(&format!("liberer:{joueur}"));
        depot
            .executer::<Inventaire>(&joueur.to_string(), liberer, &etape)
            .await?;
    }
    Ok(())
}
