//! Service Combat: a character is engaged (`Joueur::EntrerEnCombat`) before it enters a combat,
//! and freed when it leaves it or the combat ends.
//!
//! Where a character stands belongs to Service Monde: a combat is prepared in its initiator's
//! zone (the aggregate refuses an encounter of another zone) and only characters standing in
//! that zone may join it.

use chrono::Utc;
use domain::combat::{Action, Combat, Combattant, CommandeCombat, ErreurCombat, EvenementCombat};
use domain::ids::{CombatId, CompteId, JoueurId};
use domain::joueur::{CommandeJoueur, FicheJoueur, Joueur};
use domain::valeurs::{CodeRencontre, Graine};
use magasin::Metadonnees;
use uuid::Uuid;

use crate::depot::Depot;
use crate::erreurs::{ErreurApplication, Refus};
use crate::services::monde::Monde;
use crate::services::{
    decider_sans_ecrire, fiche_possedee, refus_ou_premiere_reponse, verifier_possession, zone_de,
};

fn combattant(fiche: &FicheJoueur) -> Combattant {
    Combattant {
        joueur_id: fiche.joueur_id,
        nom: fiche.nom.clone(),
        classe: fiche.classe,
        niveau: fiche.niveau,
    }
}

/// Prepares a combat against an encounter of the zone where the caller's character stands,
/// that character as initiator.
///
/// The encounter is checked before the character is engaged, so a refusal writes nothing. The
/// combat's id derives from the request's: once checked, `Preparer` on it cannot be refused
/// (a replay gets its first answer), so nothing is left to compensate.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn preparer(
    depot: &Depot,
    monde: &Monde,
    compte: CompteId,
    joueur_id: JoueurId,
    rencontre: CodeRencontre,
    meta: &Metadonnees,
) -> Result<CombatId, ErreurApplication> {
    let fiche = fiche_possedee(depot, compte, joueur_id).await?;
    let zone = zone_de(monde, joueur_id).await?;
    let combat_id = CombatId::from_uuid(Uuid::new_v5(&meta.id_commande, b"combat"));
    // The seed comes from the server's randomness, never from anything the client chose (a
    // client picking command ids could otherwise search for a lucky fight).
    let graine = Graine::new(Uuid::new_v4().as_u64_pair().0);
    let preparer = CommandeCombat::Preparer {
        combat_id,
        rencontre,
        zone,
        graine,
        initiateur: combattant(&fiche),
    };
    let id = combat_id.to_string();
    if let Err(refus) = decider_sans_ecrire(depot, Combat::default(), preparer.clone()).await {
        return refus_ou_premiere_reponse::<Combat>(depot, &id, refus, meta)
            .await
            .map(|_| combat_id);
    }
    engager(depot, joueur_id, combat_id, &meta.etape("engager")).await?;
    depot.executer::<Combat>(&id, preparer, meta).await?;
    Ok(combat_id)
}

/// The caller's character joins a combat in preparation, from the combat's zone.
///
/// The combat is read and the join decided on it before the character is engaged, so a
/// refusal writes nothing. Only a race is compensated: the combat launched, filled up or
/// called off between that check and `Rejoindre`; the character is then freed.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn rejoindre(
    depot: &Depot,
    monde: &Monde,
    compte: CompteId,
    joueur_id: JoueurId,
    combat_id: CombatId,
    meta: &Metadonnees,
) -> Result<Vec<EvenementCombat>, ErreurApplication> {
    let fiche = fiche_possedee(depot, compte, joueur_id).await?;
    let zone = zone_de(monde, joueur_id).await?;
    let id = combat_id.to_string();
    let combat = depot.charger::<Combat>(&id).await?.unwrap_or_default();
    let rejoindre = CommandeCombat::Rejoindre {
        combattant: combattant(&fiche),
    };
    let verdict = match combat.etat().map(|e| e.zone.clone()) {
        Some(du_combat) if du_combat != zone => Err(ErreurCombat::HorsDeLaZone {
            combat: du_combat,
            zone,
        }),
        _ => decider_sans_ecrire(depot, combat, rejoindre.clone()).await,
    };
    if let Err(refus) = verdict {
        return refus_ou_premiere_reponse::<Combat>(depot, &id, refus, meta).await;
    }
    // Engaged in this very combat but not in it yet: another request of this character is
    // joining it, and the refusal this one may get must not free the character it engaged.
    let deja_engage = fiche.combat == Some(combat_id);
    engager(depot, joueur_id, combat_id, &meta.etape("engager")).await?;
    match depot.executer::<Combat>(&id, rejoindre, meta).await {
        Ok(evenements) => Ok(evenements),
        Err(e) => {
            if !deja_engage && jamais_entre(&e) {
                liberer(depot, joueur_id, combat_id, &meta.etape("liberer")).await?;
            }
            Err(e)
        }
    }
}

/// Whether a `Rejoindre` that failed after the check certainly left its character out of the
/// combat: a refusal (but `DejaParticipant`, which a concurrent join of the same character
/// won) or a conflict wrote nothing. A storage error may have committed: freeing then could
/// free a participant, so the character stays engaged until the request is retried.
fn jamais_entre(erreur: &ErreurApplication) -> bool {
    match erreur {
        ErreurApplication::Regle(Refus::Combat(ErreurCombat::DejaParticipant)) => false,
        ErreurApplication::Regle(_) | ErreurApplication::Conflit => true,
        _ => false,
    }
}

/// The caller's character leaves a combat before its launch (the initiator leaving calls it
/// off for everyone).
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn quitter(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    combat_id: CombatId,
    meta: &Metadonnees,
) -> Result<Vec<EvenementCombat>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    let evenements = depot
        .executer::<Combat>(
            &combat_id.to_string(),
            CommandeCombat::Quitter { joueur_id },
            meta,
        )
        .await?;
    liberer_apres(depot, combat_id, &evenements, meta).await?;
    Ok(evenements)
}

/// The initiator starts the combat.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn lancer(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    combat_id: CombatId,
    meta: &Metadonnees,
) -> Result<Vec<EvenementCombat>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    let lancer = CommandeCombat::Lancer {
        joueur_id,
        maintenant: Utc::now(),
    };
    depot
        .executer::<Combat>(&combat_id.to_string(), lancer, meta)
        .await
}

/// The caller's character acts in the current round.
#[tracing::instrument(level = "debug", skip_all, fields(%compte, %joueur_id))]
pub async fn agir(
    depot: &Depot,
    compte: CompteId,
    joueur_id: JoueurId,
    combat_id: CombatId,
    action: Action,
    meta: &Metadonnees,
) -> Result<Vec<EvenementCombat>, ErreurApplication> {
    verifier_possession(depot, compte, joueur_id).await?;
    let agir = CommandeCombat::Agir {
        joueur_id,
        action,
        maintenant: Utc::now(),
    };
    let evenements = depot
        .executer::<Combat>(&combat_id.to_string(), agir, meta)
        .await?;
    liberer_apres(depot, combat_id, &evenements, meta).await?;
    Ok(evenements)
}

/// Ends a round whose deadline passed (the round scheduler's command; no account: the system
/// asks), then frees the participants if that ended the combat. A round already over changes
/// nothing.
#[tracing::instrument(level = "debug", skip_all, fields(%combat_id, tour))]
pub async fn terminer_tour(
    depot: &Depot,
    combat_id: CombatId,
    tour: u32,
    meta: &Metadonnees,
) -> Result<Vec<EvenementCombat>, ErreurApplication> {
    let terminer = CommandeCombat::TerminerTour {
        tour,
        maintenant: Utc::now(),
    };
    let evenements = depot
        .executer::<Combat>(&combat_id.to_string(), terminer, meta)
        .await?;
    liberer_apres(depot, combat_id, &evenements, meta).await?;
    Ok(evenements)
}

async fn engager(
    depot: &Depot,
    joueur_id: JoueurId,
    combat_id: CombatId,
    meta: &Metadonnees,
) -> Result<(), ErreurApplication> {
    depot
        .executer::<Joueur>(
            &joueur_id.to_string(),
            CommandeJoueur::EntrerEnCombat { combat_id },
            meta,
        )
        .await
        .map(drop)
}

async fn liberer(
    depot: &Depot,
    joueur_id: JoueurId,
    combat_id: CombatId,
    meta: &Metadonnees,
) -> Result<(), ErreurApplication> {
    depot
        .executer::<Joueur>(
            &joueur_id.to_string(),
            CommandeJoueur::SortirDuCombat { combat_id },
            meta,
        )
        .await
        .map(drop)
}

/// Frees whoever a combat's events release: the one who left, everyone on a cancellation or
/// at the end.
async fn liberer_apres(
    depot: &Depot,
    combat_id: CombatId,
    evenements: &[EvenementCombat],
    meta: &Metadonnees,
) -> Result<(), ErreurApplication> {
    for evenement in evenements {
        let liberes: Vec<JoueurId> = match evenement {
            EvenementCombat::CombattantParti { joueur_id } => vec![*joueur_id],
            EvenementCombat::CombatAnnule { participants } => participants.clone(),
            EvenementCombat::CombatTermine { participants, .. } => {
                participants.iter().map(|p| p.joueur_id).collect()
            }
            _ => continue,
        };
        for joueur_id in liberes {
            let etape = meta.etape(&format!("liberer:{joueur_id}"));
            liberer(depot, joueur_id, combat_id, &etape).await?;
        }
    }
    Ok(())
}
