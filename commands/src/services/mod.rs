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
//!
//! A refusal writes nothing. A request whose first write only prepares its main command
//! (engaging a combatant, reserving an offer) first decides that command on the state it can
//! read ([`decider_sans_ecrire`]), so that what can be refused then is refused before anything
//! is written; only a race (the other aggregate changed between the check and the command)
//! is left to compensate (doc/magasin.md §4).

pub mod chat;
pub mod combat;
pub mod economie;
pub mod joueur;
pub mod moderation;
pub mod monde;
pub mod quete;

use cqrs_es::event_sink::EventSink;
use domain::ids::{CompteId, JoueurId};
use domain::joueur::{FicheJoueur, Joueur};
use domain::valeurs::CodeZone;
use magasin::Metadonnees;

use crate::depot::{AgregatStocke, Depot};
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

/// Decides a command on a state read beforehand, without writing anything: the refusal it
/// would get now, if any. The events are thrown away; the command itself still goes through
/// [`Depot::executer`], which decides it again on the whole stream.
pub(crate) async fn decider_sans_ecrire<A>(
    depot: &Depot,
    mut etat: A,
    commande: A::Command,
) -> Result<(), A::Error>
where
    A: AgregatStocke,
{
    etat.handle(commande, depot.catalogue(), &EventSink::default())
        .await
}

/// A request refused before its first write: if its command id was applied already, this is
/// a replay and gets its first answer, whatever the state or the replay's parameters would
/// give now (doc/protocole.md §3.4); otherwise the refusal.
pub(crate) async fn refus_ou_premiere_reponse<A>(
    depot: &Depot,
    agregat_id: &str,
    refus: A::Error,
    meta: &Metadonnees,
) -> Result<Vec<A::Event>, ErreurApplication>
where
    A: AgregatStocke,
{
    match depot
        .reponse_anterieure::<A>(agregat_id, meta.id_commande)
        .await?
    {
        Some(evenements) => Ok(evenements),
        None => Err(ErreurApplication::Regle(A::refus(refus))),
    }
}
