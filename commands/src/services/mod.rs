//! One application service per game service (Monde and Chat, which have no aggregate, are
//! structs over Redis and PostgreSQL). Each checks what the aggregates cannot (data of
//! other aggregates or tables: ownership of a character, name uniqueness, prerequisites read
//! from other streams) and then sends commands through [`Depot::executer`].
//!
//! A request that issues several commands derives each step's command id from the request's
//! ([`Metadonnees::etape`]), so that retrying the request with the same `id_commande` replays
//! every step at most once. Steps that react to an outcome (freeing the participants of a
//! finished combat, settling a concluded trade) are done here synchronously for now; the
//! process managers of the bus make them durable (doc/bus.md).

pub mod chat;
pub mod combat;
pub mod economie;
pub mod joueur;
pub mod monde;
pub mod quete;

use domain::ids::{CompteId, JoueurId};
use domain::joueur::{FicheJoueur, Joueur};
use domain::valeurs::CodeZone;
#[cfg(doc)]
use magasin::Metadonnees;

use crate::depot::Depot;
use crate::erreurs::ErreurApplication;
use crate::services::monde::Monde;

/// The sheet of a character the caller owns, with every event of its stream: never trust an
/// id from a request.
pub async fn fiche_possedee(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
) -> Result<FicheJoueur, ErreurApplication> {
    let joueur = depot.charger::<Joueur>(&joueur_id.to_string()).await?;
    possedee(joueur, compte, joueur_id)
}

/// Checks that the caller owns a character, when nothing else of its sheet is needed. A
/// character's owner never changes, so the state this process already holds answers, without
/// a round trip to the store.
pub async fn verifier_possession(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
) -> Result<(), ErreurApplication> {
    let joueur = depot
        .charger_connu::<Joueur>(&joueur_id.to_string())
        .await?;
    possedee(joueur, compte, joueur_id).map(drop)
}

fn possedee(
    joueur: Option<Joueur>,
    compte: CompteId,
    joueur_id: JoueurId,
) -> Result<FicheJoueur, ErreurApplication> {
    let fiche = joueur
        .and_then(|j| j.fiche().cloned())
        .ok_or_else(|| ErreurApplication::introuvable("personnage", &joueur_id))?;
    if fiche.compte_id == compte {
        Ok(fiche)
    } else {
        Err(ErreurApplication::Interdit)
    }
}

/// Where a character stands (placed at the start if Monde has not placed it yet: the process
/// manager reacting to its creation may still be on its way).
pub(crate) async fn zone_de(
    monde: &Monde,
    joueur_id: JoueurId,
) -> Result<CodeZone, ErreurApplication> {
    Ok(match monde.emplacement(joueur_id).await? {
        Some(e) => e.zone,
        None => monde.placer_au_depart(joueur_id).await?.zone,
    })
}
